import ArticleModel
import NIOCore

// BATCH (0x82), server → client, PROTOCOL.md §5.4.
//
//   u64   fromRevision   exclusive lower bound (the pull's sinceRevision or the previous toRevision)
//   u64   toRevision     inclusive upper bound = the revision of the last change
//   u32   count          ≥ 1
//   …     changes        count × Change, strictly increasing revisions
//
// The decoder enforces what the layout alone determines: count ≥ 1, every revision in
// (fromRevision, toRevision], strictly increasing, the last one equal to toRevision. A batch that
// breaks these is MALFORMED_FRAME, so the client never sees one. Whether fromRevision equals the
// client's cursor needs the client's state, so the client checks that.
extension Batch {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let fromRevision: UInt64 = try reader.readInteger("fromRevision")
        let toRevision: UInt64 = try reader.readInteger("toRevision")
        let count: UInt32 = try reader.readInteger("count")
        guard count >= 1 else { throw reader.malformed("holds no changes; a batch holds at least one") }
        guard fromRevision < toRevision else {
            throw reader.malformed("covers the empty range (\(fromRevision), \(toRevision)]")
        }
        try reader.checkRoom(for: count, of: Change.minimumSize, "changes")
        var changes = [Change]()
        changes.reserveCapacity(Int(count))
        var previous = fromRevision
        for _ in 0..<count {
            let change = try Change(payload: &reader)
            guard change.revision > previous, change.revision <= toRevision else {
                throw reader.malformed(
                    "change \(change.revision) is out of order: after \(previous), within (\(fromRevision), \(toRevision)]")
            }
            previous = change.revision
            changes.append(change)
        }
        guard previous == toRevision else {
            throw reader.malformed("ends at revision \(previous) but announces toRevision \(toRevision)")
        }
        try reader.finish()
        self.init(fromRevision: fromRevision, toRevision: toRevision, changes: changes)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(fromRevision)
        buffer.writeInteger(toRevision)
        buffer.writeInteger(UInt32(changes.count))
        for change in changes {
            change.write(into: &buffer)
        }
    }
}

// Change:
//
//   u8         kind             1 = ARTICLE, 2 = TOMBSTONE, 3 = ARTICLE_WITH_PATH (SOURCE_PATH only)
//   u64        revision
//   str8       id               1-255 bytes
//   --- kind = ARTICLE_WITH_PATH only ---
//   str16      sourcePath       1-4,096 bytes of UTF-8
//   --- kind = ARTICLE or ARTICLE_WITH_PATH ---
//   bytes[32]  contentHash
//   u8         encoding         0 = RAW, 1 = ZLIB, 2 = DELTA
//   bytes[32]  baseHash         only when encoding = DELTA
//   u32        documentLength   ≤ MAX_DOCUMENT
//   u32        dataLength       RAW: = documentLength
//   bytes[n]   data
extension Change {
    private enum Kind: UInt8 {
        case article = 1
        case tombstone = 2
        case articleWithPath = 3
    }

    /// The longest `sourcePath` (§5.4).
    public static let maxSourcePathLength = 4_096

    private enum EncodingByte: UInt8 {
        case raw = 0
        case zlib = 1
        case delta = 2
    }

    /// A tombstone with a one-byte id: kind + revision + str8.
    static let minimumSize = 1 + 8 + 1 + 1

    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let kind: Kind = try reader.readEnum("kind")
        let revision: UInt64 = try reader.readInteger("revision")
        let id = try reader.readID()
        // A client names files and rows by id: one that breaks §7.1 never leaves the codec.
        guard ArticleID.isValid(id) else {
            throw reader.malformed("change \(revision) has an id that §7.1 forbids")
        }
        switch kind {
        case .tombstone:
            self = .tombstone(revision: revision, id: id)
        case .article, .articleWithPath:
            var sourcePath: String? = nil
            if kind == .articleWithPath {
                let path = try reader.readString16("sourcePath", maxLength: Self.maxSourcePathLength)
                guard !path.isEmpty else { throw reader.malformed("change \(revision) has an empty sourcePath") }
                sourcePath = path
            }
            let contentHash = try reader.readHash("contentHash")
            let encoding: DocumentEncoding
            switch try reader.readEnum("encoding", as: EncodingByte.self) {
            case .raw: encoding = .raw
            case .zlib: encoding = .zlib
            case .delta: encoding = .delta(baseHash: try reader.readHash("baseHash"))
            }
            let documentLength: UInt32 = try reader.readInteger("documentLength")
            guard documentLength <= ProtocolLimits.maxDocumentLength else {
                throw reader.malformed(
                    "change \(revision) has a document of \(documentLength) bytes, above the limit of \(ProtocolLimits.maxDocumentLength)")
            }
            let dataLength: UInt32 = try reader.readInteger("dataLength")
            if encoding == .raw && dataLength != documentLength {
                throw reader.malformed("change \(revision) is RAW but its dataLength \(dataLength) differs from its documentLength \(documentLength)")
            }
            let data = try reader.readSlice("data", count: Int(dataLength))
            self = .article(
                ArticleChange(
                    revision: revision, id: id, contentHash: contentHash, encoding: encoding,
                    documentLength: documentLength, data: data, sourcePath: sourcePath))
        }
    }

    func write(into buffer: inout ByteBuffer) {
        switch self {
        case .tombstone(let revision, let id):
            buffer.writeInteger(Kind.tombstone.rawValue)
            buffer.writeInteger(revision)
            buffer.writeID(id)
        case .article(let article):
            buffer.writeInteger((article.sourcePath == nil ? Kind.article : Kind.articleWithPath).rawValue)
            buffer.writeInteger(article.revision)
            buffer.writeID(article.id)
            if let sourcePath = article.sourcePath { buffer.writeExactString16(sourcePath, maxBytes: Self.maxSourcePathLength) }
            buffer.writeBytes(article.contentHash.bytes)
            buffer.writeInteger(article.encoding.byte)
            if case .delta(let baseHash) = article.encoding {
                buffer.writeBytes(baseHash.bytes)
            }
            buffer.writeInteger(article.documentLength)
            precondition(article.data.readableBytes <= Int(UInt32.max), "article data does not fit dataLength")
            buffer.writeInteger(UInt32(article.data.readableBytes))
            buffer.writeImmutableBuffer(article.data)
        }
    }
}
