import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import NIOCore

/// Turns stored changes into BATCH changes (PROTOCOL.md §5.4, §7.3, §7.4), choosing each article's
/// encoding for one pull. The stored compressed bytes travel as they are: nothing is recompressed.
struct ChangeEncoder {
    /// DELTA is in force, the PULL set ACCEPT_DELTAS and resumes from `sinceRevision > 0`.
    var deltasAllowed: Bool
    var sinceRevision: UInt64
    /// DICTIONARY is in force: stored streams naming a store dictionary may travel as they are.
    var dictionariesAllowed: Bool
    /// SOURCE_PATH is in force: an article goes with the path it was imported from (§5.4).
    var sourcePathsAllowed = false

    init(session: ConnectionStateMachine.Session, pull: Pull) {
        let encoding = Self.encoding(session: session, pull: pull)
        self.init(
            deltasAllowed: encoding.deltas, sinceRevision: pull.sinceRevision, dictionariesAllowed: encoding.dictionaries,
            sourcePathsAllowed: encoding.sourcePaths)
    }

    init(deltasAllowed: Bool, sinceRevision: UInt64, dictionariesAllowed: Bool, sourcePathsAllowed: Bool = false) {
        self.deltasAllowed = deltasAllowed
        self.sinceRevision = sinceRevision
        self.dictionariesAllowed = dictionariesAllowed
        self.sourcePathsAllowed = sourcePathsAllowed
    }

    /// What decides the encodings of one pull beside its cursor: pulls that agree on it and on the
    /// cursor are sent the same bytes.
    static func encoding(session: ConnectionStateMachine.Session, pull: Pull) -> TailRequest.Encoding {
        TailRequest.Encoding(
            deltas: session.features.contains(.delta) && pull.flags.contains(.acceptDeltas) && pull.sinceRevision > 0,
            dictionaries: session.features.contains(.dictionary),
            sourcePaths: session.features.contains(.sourcePath))
    }

    /// The dictionary a stored document names when the client cannot be sent it: the document must
    /// then be inflated and sent RAW.
    func dictionaryNeededToInflate(_ change: StoredChange) -> UInt32? {
        guard case .article(let document) = change.kind, !dictionariesAllowed, delta(for: document) == nil else { return nil }
        return ArticleCompression.dictionaryID(of: document.compressed)
    }

    /// `dictionary` answers the DICTIDs of `dictionaryNeededToInflate`. The document's bytes stay
    /// where the store put them until `EncodedChange.assemble` copies a batch's into one buffer.
    func encode(_ change: StoredChange, dictionary: (UInt32) -> [UInt8]?) throws -> EncodedChange {
        switch change.kind {
        case .tombstone:
            return .tombstone(revision: change.revision, id: change.id)
        case .article(let document):
            guard let contentHash = SHA256Hash(bytes: document.contentHash) else {
                throw StoreError("revision \(change.revision) has a content hash of \(document.contentHash.count) bytes, not 32: the store is damaged")
            }
            let encoding: DocumentEncoding
            let data: [UInt8]
            if let delta = delta(for: document), let baseHash = SHA256Hash(bytes: delta.baseHash) {
                encoding = .delta(baseHash: baseHash)
                data = delta.compressed
            } else if !dictionariesAllowed, ArticleCompression.dictionaryID(of: document.compressed) != nil {
                encoding = .raw
                data = try ArticleCompression.inflateDocument(document.compressed, documentLength: document.documentLength, dictionary: dictionary)
            } else {
                encoding = .zlib
                data = document.compressed
            }
            return .article(EncodedArticle(
                revision: change.revision, id: change.id, contentHash: contentHash,
                encoding: encoding, documentLength: UInt32(document.documentLength), data: data,
                sourcePath: sourcePathsAllowed ? document.sourcePath.flatMap(Self.sendable) : nil))
        }
    }

    /// A recorded path as BATCH carries it (1-4,096 bytes); anything else is not sent.
    private static func sendable(_ path: String) -> String? {
        (1...Change.maxSourcePathLength).contains(path.utf8.count) ? path : nil
    }

    /// The stored delta, when the client is known to hold its base and it is the smaller form.
    private func delta(for document: StoredDocument) -> StoredDelta? {
        guard deltasAllowed, let delta = document.delta, delta.baseRevision <= sinceRevision,
              delta.compressed.count < document.compressed.count else { return nil }
        return delta
    }

    /// The bytes `change` adds to a BATCH payload (PROTOCOL.md §5.4).
    static func payloadSize(of change: Change) -> Int {
        switch change {
        case .tombstone(_, let id):
            return tombstoneSize(id: id)
        case .article(let article):
            return articleSize(id: article.id, sourcePath: article.sourcePath, encoding: article.encoding, dataBytes: article.data.readableBytes)
        }
    }

    static func tombstoneSize(id: String) -> Int { 1 + 8 + 1 + id.utf8.count }

    static func articleSize(id: String, sourcePath: String?, encoding: DocumentEncoding, dataBytes: Int) -> Int {
        let base: Int
        if case .delta = encoding { base = 32 } else { base = 0 }
        let path = sourcePath.map { 2 + $0.utf8.count } ?? 0
        return 1 + 8 + 1 + id.utf8.count + path + 32 + 1 + base + 4 + 4 + dataBytes
    }

    /// fromRevision, toRevision and count.
    static let batchHeaderSize = 8 + 8 + 4
}

/// An article of a BATCH as `ChangeEncoder` chose to send it, its bytes not yet in a buffer.
struct EncodedArticle {
    var revision: UInt64
    var id: String
    var contentHash: SHA256Hash
    var encoding: DocumentEncoding
    var documentLength: UInt32
    var data: [UInt8]
    var sourcePath: String?
}

/// A change of a BATCH being put together (`BatchReader`, `TailBroadcaster`).
enum EncodedChange {
    case tombstone(revision: UInt64, id: String)
    case article(EncodedArticle)

    var revision: UInt64 {
        switch self {
        case .tombstone(let revision, _): return revision
        case .article(let article): return article.revision
        }
    }

    /// The bytes it adds to a BATCH payload (PROTOCOL.md §5.4).
    var payloadSize: Int {
        switch self {
        case .tombstone(_, let id):
            return ChangeEncoder.tombstoneSize(id: id)
        case .article(let article):
            return ChangeEncoder.articleSize(id: article.id, sourcePath: article.sourcePath, encoding: article.encoding, dataBytes: article.data.count)
        }
    }

    /// The batch's changes with their documents copied into one buffer, each keeping a slice of it.
    /// NIO rounds every buffer up to a power of two: a 1.2 KB document alone would take 2 KiB (and an
    /// allocation of its own), and a batch waiting for the socket would hold half again its size.
    /// The buffer is filled before any slice is taken, so no slice is ever copied on write.
    static func assemble(_ changes: [EncodedChange]) -> [Change] {
        var total = 0
        for case .article(let article) in changes { total += article.data.count }
        var arena = ByteBufferAllocator().buffer(capacity: total)
        var offsets: [Int] = []
        offsets.reserveCapacity(changes.count)
        for change in changes {
            offsets.append(arena.writerIndex)
            if case .article(let article) = change { arena.writeBytes(article.data) }
        }
        return zip(changes, offsets).map { change, offset in
            switch change {
            case .tombstone(let revision, let id):
                return .tombstone(revision: revision, id: id)
            case .article(let article):
                return .article(ArticleChange(
                    revision: article.revision, id: article.id, contentHash: article.contentHash, encoding: article.encoding,
                    documentLength: article.documentLength, data: arena.getSlice(at: offset, length: article.data.count)!,
                    sourcePath: article.sourcePath))
            }
        }
    }
}
