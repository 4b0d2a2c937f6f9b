import ArticleModel

// ---------------------------------------------------------------------------------------------
// API CONTRACT between the store and its users (server, client): the value types. The store
// itself is `ArticleStore` (ArticleStore.swift and its ArticleStore+*.swift extensions), the seed
// importer `Importer` (Importer.swift). Changing a signature means telling the other sides.
// ---------------------------------------------------------------------------------------------

/// What a store file is for. The same schema serves both; a replica records its upstream and cursor.
public enum StoreRole: Sendable, Hashable {
    /// The server's canonical store: assigns revisions, keeps compressed documents, deltas, digest log.
    case canonical
    /// A client's replica: takes the upstream's revisions; `fullTextIndex` keeps the FTS5 index.
    case replica(fullTextIndex: Bool)
}

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

    public init(contentHash: [UInt8], compressed: [UInt8], documentLength: Int, delta: StoredDelta?) {
        self.contentHash = contentHash
        self.compressed = compressed
        self.documentLength = documentLength
        self.delta = delta
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

/// One write of a push (PROTOCOL.md §5.7).
public struct StoreWrite: Sendable, Hashable {
    public enum Operation: Sendable, Hashable {
        case put(Article)
        case delete
    }
    public static let anyRevision = UInt64.max
    public var id: String
    public var expectedRevision: UInt64
    public var operation: Operation

    public init(id: String, expectedRevision: UInt64, operation: Operation) {
        self.id = id
        self.expectedRevision = expectedRevision
        self.operation = operation
    }
}

public struct StoreWriteOutcome: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        case applied, unchanged, conflict, notFound
    }
    public var status: Status
    /// applied: the new revision; otherwise the article's current revision (0 if not live).
    public var revision: UInt64

    public init(status: Status, revision: UInt64) {
        self.status = status
        self.revision = revision
    }
}

/// A change as a replica applies it (upstream revisions). `compressed` is the article's document as
/// the server sent it, when the sender has checked that it inflates to `article`: a mirror keeps
/// those bytes instead of the text (a third of the size on disk and to write).
public enum ReplicaChange: Sendable, Hashable {
    case put(id: String, revision: UInt64, article: Article, contentHash: [UInt8], compressed: CompressedDocument? = nil)
    case delete(id: String, revision: UInt64)
}

/// A document compressed with a store dictionary, as stored on the server and sent in a BATCH with
/// encoding ZLIB (PROTOCOL.md §7.3): the zlib header's FDICT names the dictionary.
public struct CompressedDocument: Sendable, Hashable {
    public var bytes: [UInt8]
    public var documentLength: Int

    public init(bytes: [UInt8], documentLength: Int) {
        self.bytes = bytes
        self.documentLength = documentLength
    }
}

public struct ReplicaState: Sendable, Hashable {
    public var upstreamStoreID: [UInt8]?  // 16 bytes, nil for a new replica
    public var cursor: UInt64

    public init(upstreamStoreID: [UInt8]?, cursor: UInt64) {
        self.upstreamStoreID = upstreamStoreID
        self.cursor = cursor
    }
}

public struct DigestState: Sendable, Hashable {
    public var revision: UInt64
    public var articleCount: UInt64
    public var digest: [UInt8]  // 32 bytes, PROTOCOL.md §7.6

    public init(revision: UInt64, articleCount: UInt64, digest: [UInt8]) {
        self.revision = revision
        self.articleCount = articleCount
        self.digest = digest
    }
}

public struct ArticleSummary: Sendable, Hashable {
    public var id: String
    public var revision: UInt64
    public var published: PublicationTime
    public var category: String
    public var title: String

    public init(id: String, revision: UInt64, published: PublicationTime, category: String, title: String) {
        self.id = id
        self.revision = revision
        self.published = published
        self.category = category
        self.title = title
    }
}

public struct StoredArticle: Sendable, Hashable {
    public var id: String
    public var revision: UInt64
    public var contentHash: [UInt8]
    public var article: Article

    public init(id: String, revision: UInt64, contentHash: [UInt8], article: Article) {
        self.id = id
        self.revision = revision
        self.contentHash = contentHash
        self.article = article
    }
}

public struct SearchHit: Sendable, Hashable {
    public var summary: ArticleSummary
    /// Text around the match, the matched words marked with « ».
    public var snippet: String
    public var rank: Double

    public init(summary: ArticleSummary, snippet: String, rank: Double) {
        self.summary = summary
        self.snippet = snippet
        self.rank = rank
    }
}

public struct ListFilter: Sendable, Hashable {
    public var category: String?
    public var from: PublicationTime?
    public var to: PublicationTime?
    public var limit: Int?
    public init(category: String? = nil, from: PublicationTime? = nil, to: PublicationTime? = nil, limit: Int? = nil) {
        self.category = category
        self.from = from
        self.to = to
        self.limit = limit
    }
}

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
