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
        /// A ZLIB document naming `dictionary` did not inflate to its content hash: the dictionary
        /// may be a forgery with the right Adler-32 (three changed bytes keep one), so it is
        /// dropped and fetched again before the article is blamed.
        case dictionaryMismatch(String, dictionary: UInt32)
    }

    /// The largest document a server can hold: a source of at most MAX_SOURCE (§9) gives a body of
    /// at most that, kept beside it verbatim when it is not canonical, plus category and title
    /// (≤ 65,535 bytes each) and the fixed fields (PROTOCOL.md §7.2, §7.3: "at most about 8.1 MiB";
    /// MAX_DOCUMENT, twice that, is only the wire's bound). A change announcing more is bad data,
    /// refused before anything is inflated: at 16 MiB a reading replica could not store one
    /// article within the client's memory bound.
    static let largestDocument = 8 + 2 * (2 + 65_535) + 2 * (4 + Int(ProtocolLimits.maxSourceLength))

    var dictionaries: [UInt32: [UInt8]]
    /// Sources of the delta bases, by the ids' bytes (already checked against the batch's baseHash).
    var bases: [ArticleKey: [UInt8]]
    /// A mirror keeps documents as sent (`ReplicaChange.putDocument`) and holds none of their text.
    var keepCompressed = false
    /// A reading replica keeps them too, with the text beside them for its search index
    /// (`ReplicaChange.put` with `compressed`).
    var keepText = false

    /// `inflater`: the caller's, one per run of changes on one task (it keeps the dictionary's window).
    func decode(_ change: Change, inflater: DocumentInflater) throws(Failure) -> ReplicaChange {
        switch change {
        case .tombstone(let revision, let id):
            return .delete(id: id, revision: revision)
        case .article(let article):
            let dictionary = article.encoding == .zlib ? article.data.withUnsafeReadableBytes { Zlib.dictionaryID(of: $0) } : nil
            func blame(_ why: String) -> Failure {
                if let dictionary { return .dictionaryMismatch(why, dictionary: dictionary) }
                return .invalid(why)
            }
            let document = try inflate(article, inflater: inflater, blame: blame)
            if keepCompressed && !keepText && article.encoding == .zlib {
                return try decodeForMirror(article, document: document, blame: blame)
            }
            let decoded: Article
            do {
                decoded = try ArticleDocument.decode(document)
            } catch {
                throw blame("article \(article.id) at revision \(article.revision): \(error)")
            }
            guard decoded.source.count <= Int(ProtocolLimits.maxSourceLength) else {
                throw .invalid("article \(article.id) at revision \(article.revision) has a source of \(decoded.source.count) bytes, more than any store holds")
            }
            let hash = Array(SHA256.hash(data: decoded.source))
            guard hash == article.contentHash.bytes else {
                throw blame("article \(article.id) at revision \(article.revision) does not match its content hash")
            }
            // Only a ZLIB document is the store's own compressed form; a delta needs its base.
            if keepCompressed && article.encoding == .zlib {
                let document = CompressedDocument(bytes: Array(article.data.readableBytesView), documentLength: Int(article.documentLength))
                if keepText {
                    return .put(id: article.id, revision: article.revision, article: decoded, contentHash: hash, compressed: document)
                }
                return .putDocument(
                    id: article.id, revision: article.revision, heading: ArticleHeading(decoded), contentHash: hash, document: document)
            }
            return .put(id: article.id, revision: article.revision, article: decoded, contentHash: hash)
        }
    }

    /// A mirror keeps the compressed bytes and none of the text: the heading and the source's hash
    /// come from the document's bytes, without a String of the body or a copy of the source.
    private func decodeForMirror(_ article: ArticleChange, document: [UInt8], blame: (String) -> Failure) throws(Failure) -> ReplicaChange {
        let heading: ArticleDocument.Heading
        do {
            heading = try ArticleDocument.decodeHeading(document)
        } catch {
            throw blame("article \(article.id) at revision \(article.revision): \(error)")
        }
        guard heading.sourceLength <= Int(ProtocolLimits.maxSourceLength) else {
            throw .invalid("article \(article.id) at revision \(article.revision) has a source of \(heading.sourceLength) bytes, more than any store holds")
        }
        var hasher = SHA256()
        for part in heading.sourceParts { hasher.update(data: part) }
        let hash = Array(hasher.finalize())
        guard hash == article.contentHash.bytes else {
            throw blame("article \(article.id) at revision \(article.revision) does not match its content hash")
        }
        return .putDocument(
            id: article.id, revision: article.revision,
            heading: ArticleHeading(published: heading.published, category: heading.category, title: heading.title), contentHash: hash,
            document: CompressedDocument(bytes: Array(article.data.readableBytesView), documentLength: Int(article.documentLength)))
    }

    private func inflate(_ article: ArticleChange, inflater: DocumentInflater, blame: (String) -> Failure) throws(Failure) -> [UInt8] {
        let length = Int(article.documentLength)
        guard length <= Self.largestDocument else {
            throw .invalid("article \(article.id) claims a document of \(length) bytes, more than any store holds (\(Self.largestDocument))")
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
                    try inflater.inflate(bytes, documentLength: length) { dictionaries[$0] }
                }
            case .delta:
                guard let base = bases[ArticleKey(article.id)] else { throw Failure.missingBase(id: article.id) }
                return try data.withUnsafeReadableBytes { bytes in
                    try inflater.inflate(bytes, documentLength: length) { _ in base }
                }
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw blame("article \(article.id) at revision \(article.revision): \(error)")
        }
    }

    /// Dictionary ids named by the ZLIB documents of `changes` (FDICT).
    static func dictionaryIDs(in changes: some Sequence<Change>) -> Set<UInt32> {
        var ids = Set<UInt32>()
        for case .article(let article) in changes where article.encoding == .zlib {
            if let id = article.data.withUnsafeReadableBytes({ Zlib.dictionaryID(of: $0) }) { ids.insert(id) }
        }
        return ids
    }
}

extension Change {
    /// The bytes this change decodes to, as announced before anything is inflated.
    var documentLength: Int {
        if case .article(let article) = self { return Int(article.documentLength) }
        return 0
    }

    /// The change as the replica stages it (ReplicaStore+Stage): the same fields, the data copied.
    var staged: StagedChange {
        switch self {
        case .tombstone(let revision, let id):
            return StagedChange(revision: revision, id: id, kind: .tombstone)
        case .article(let article):
            var baseHash: [UInt8]? = nil
            if case .delta(let hash) = article.encoding { baseHash = hash.bytes }
            return StagedChange(
                revision: article.revision, id: article.id,
                kind: .article(
                    contentHash: article.contentHash.bytes, encoding: article.encoding.byte, baseHash: baseHash,
                    documentLength: article.documentLength, data: Array(article.data.readableBytesView)),
                sourcePath: article.sourcePath)
        }
    }

    /// A staged change back as a wire change; nil when its fields cannot be one (a damaged stage).
    init?(_ staged: StagedChange) {
        switch staged.kind {
        case .tombstone:
            self = .tombstone(revision: staged.revision, id: staged.id)
        case .article(let contentHash, let encodingByte, let baseHash, let documentLength, let data):
            guard let contentHash = SHA256Hash(bytes: contentHash) else { return nil }
            let encoding: DocumentEncoding
            switch (encodingByte, baseHash) {
            case (0, nil): encoding = .raw
            case (1, nil): encoding = .zlib
            case (2, let hash?): guard let base = SHA256Hash(bytes: hash) else { return nil }; encoding = .delta(baseHash: base)
            default: return nil
            }
            self = .article(
                ArticleChange(
                    revision: staged.revision, id: staged.id, contentHash: contentHash, encoding: encoding,
                    documentLength: documentLength, data: ByteBuffer(bytes: data), sourcePath: staged.sourcePath))
        }
    }
}
