import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Crypto
import NIOCore
import Zlib

/// Turns the changes of a BATCH into replica changes: inflates (with store dictionaries or a delta
/// base), decodes the document and checks the source's SHA-256 against the announced content hash.
/// Pure CPU work; every input it needs (dictionaries, delta bases) is handed in.
struct ChangeDecoder {
    enum Failure: Error {
        /// A DELTA whose base we do not hold (PROTOCOL.md §7.4): re-pull without deltas.
        case missingBase(id: String)
        /// The stream is broken: discard the batch and close.
        case invalid(String)
    }

    var dictionaries: [UInt32: [UInt8]]
    /// Sources of the delta bases, by article id (already checked against the batch's baseHash).
    var bases: [String: [UInt8]]
    /// A mirror keeps documents as sent (ReplicaChange.put's `compressed`).
    var keepCompressed = false

    func decode(_ change: Change) throws(Failure) -> ReplicaChange {
        switch change {
        case .tombstone(let revision, let id):
            return .delete(id: id, revision: revision)
        case .article(let article):
            let document = try inflate(article)
            let decoded: Article
            do {
                decoded = try ArticleDocument.decode(document)
            } catch {
                throw .invalid("article \(article.id) at revision \(article.revision): \(error)")
            }
            let hash = Array(SHA256.hash(data: decoded.source))
            guard hash == article.contentHash.bytes else {
                throw .invalid("article \(article.id) at revision \(article.revision) does not match its content hash")
            }
            // Only a ZLIB document is the store's own compressed form; a delta needs its base.
            let compressed = keepCompressed && article.encoding == .zlib
                ? CompressedDocument(bytes: Array(article.data.readableBytesView), documentLength: Int(article.documentLength))
                : nil
            return .put(id: article.id, revision: article.revision, article: decoded, contentHash: hash, compressed: compressed)
        }
    }

    private func inflate(_ article: ArticleChange) throws(Failure) -> [UInt8] {
        let length = Int(article.documentLength)
        guard length <= Int(ProtocolLimits.maxDocumentLength) else {
            throw .invalid("article \(article.id) claims a document of \(length) bytes")
        }
        let data = article.data
        do {
            switch article.encoding {
            case .raw:
                guard data.readableBytes == length else {
                    throw Failure.invalid("article \(article.id): RAW document of \(data.readableBytes) bytes, announced \(length)")
                }
                return Array(data.readableBytesView)
            case .zlib:
                let dictionaries = self.dictionaries
                return try data.withUnsafeReadableBytes { bytes in
                    try ArticleCompression.inflateDocument(bytes, documentLength: length) { dictionaries[$0] }
                }
            case .delta:
                guard let base = bases[article.id] else { throw Failure.missingBase(id: article.id) }
                return try data.withUnsafeReadableBytes { bytes in
                    try ArticleCompression.inflateDocument(bytes, documentLength: length) { _ in base }
                }
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .invalid("article \(article.id) at revision \(article.revision): \(error)")
        }
    }

    /// Dictionary ids named by the batch's ZLIB documents (FDICT).
    static func dictionaryIDs(in batch: Batch) -> Set<UInt32> {
        var ids = Set<UInt32>()
        for case .article(let article) in batch.changes where article.encoding == .zlib {
            if let id = article.data.withUnsafeReadableBytes({ Zlib.dictionaryID(of: $0) }) { ids.insert(id) }
        }
        return ids
    }
}
