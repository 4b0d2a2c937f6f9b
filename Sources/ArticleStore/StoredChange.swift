/// The latest state of one article as the server serves it (PROTOCOL.md §5.4).
public struct StoredChange: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case article(StoredDocument)
        case tombstone
    }
    public var revision: UInt64
    public var id: String
    public var kind: Kind

    public init(revision: UInt64, id: String, kind: Kind) {
        self.revision = revision
        self.id = id
        self.kind = kind
    }
}

public struct StoredDocument: Sendable, Hashable {
    public var contentHash: [UInt8]  // 32 bytes, SHA-256 of the source
    /// The document (PROTOCOL.md §7.2) compressed once at write time: a zlib stream, possibly naming
    /// a store dictionary (FDICT).
    public var compressed: [UInt8]
    public var documentLength: Int
    /// A delta against the previous live version, when the article was edited (PROTOCOL.md §7.4).
    public var delta: StoredDelta?
    /// The path the article was imported from, relative to the imported folder, when recorded.
    public var sourcePath: String?

    public init(contentHash: [UInt8], compressed: [UInt8], documentLength: Int, delta: StoredDelta?, sourcePath: String? = nil) {
        self.contentHash = contentHash
        self.compressed = compressed
        self.documentLength = documentLength
        self.delta = delta
        self.sourcePath = sourcePath
    }
}

public struct StoredDelta: Sendable, Hashable {
    public var baseRevision: UInt64
    public var baseHash: [UInt8]  // 32 bytes
    /// zlib stream whose preset dictionary is the base version's source.
    public var compressed: [UInt8]

    public init(baseRevision: UInt64, baseHash: [UInt8], compressed: [UInt8]) {
        self.baseRevision = baseRevision
        self.baseHash = baseHash
        self.compressed = compressed
    }
}
