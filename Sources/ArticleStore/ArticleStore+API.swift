import ArticleModel

// ---------------------------------------------------------------------------------------------
// API CONTRACT between the store and its users (server, client). The store work fills in the
// bodies (and may split this file); server and client code against these signatures. Changing a
// signature means telling the other sides.
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
}

public struct StoredDocument: Sendable, Hashable {
    public var contentHash: [UInt8]  // 32 bytes, SHA-256 of the source
    /// The document (PROTOCOL.md §7.2) compressed once at write time: a zlib stream, possibly naming
    /// a store dictionary (FDICT).
    public var compressed: [UInt8]
    public var documentLength: Int
    /// A delta against the previous live version, when the article was edited (PROTOCOL.md §7.4).
    public var delta: StoredDelta?
}

public struct StoredDelta: Sendable, Hashable {
    public var baseRevision: UInt64
    public var baseHash: [UInt8]  // 32 bytes
    /// zlib stream whose preset dictionary is the base version's source.
    public var compressed: [UInt8]
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
}

public struct StoreWriteOutcome: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        case applied, unchanged, conflict, notFound
    }
    public var status: Status
    /// applied: the new revision; otherwise the article's current revision (0 if not live).
    public var revision: UInt64
}

/// A change as a replica applies it (upstream revisions).
public enum ReplicaChange: Sendable, Hashable {
    case put(id: String, revision: UInt64, article: Article, contentHash: [UInt8])
    case delete(id: String, revision: UInt64)
}

public struct ReplicaState: Sendable, Hashable {
    public var upstreamStoreID: [UInt8]?  // 16 bytes, nil for a new replica
    public var cursor: UInt64
}

public struct DigestState: Sendable, Hashable {
    public var revision: UInt64
    public var articleCount: UInt64
    public var digest: [UInt8]  // 32 bytes, PROTOCOL.md §7.6
}

public struct ArticleSummary: Sendable, Hashable {
    public var id: String
    public var revision: UInt64
    public var published: PublicationTime
    public var category: String
    public var title: String
}

public struct StoredArticle: Sendable, Hashable {
    public var id: String
    public var revision: UInt64
    public var contentHash: [UInt8]
    public var article: Article
}

public struct SearchHit: Sendable, Hashable {
    public var summary: ArticleSummary
    /// Text around the match, the matched words marked with « ».
    public var snippet: String
    public var rank: Double
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

/*
public final class ArticleStore: Sendable {
    /// Opens (creating when missing) the store at `path`. WAL mode; migrations run on open.
    public init(path: String, role: StoreRole) throws
    public var path: String { get }
    /// The store's own random id (16 bytes), stable for its life.
    public var storeID: [UInt8] { get }

    // Both sides
    public func head() async throws -> UInt64
    public func horizon() async throws -> UInt64
    public func digest() async throws -> DigestState                 // at head
    public func digest(at revision: UInt64) async throws -> DigestState?  // nil below horizon / above head
    public func article(id: String) async throws -> StoredArticle?
    public func close() throws

    // Canonical side
    /// Latest changes with revision > `revision`, increasing, at most `limit` rows; tombstones optional.
    public func changes(after revision: UInt64, limit: Int, includeTombstones: Bool) async throws -> [StoredChange]
    /// Applies a push in one durable transaction; outcomes in input order.
    public func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome])
    public func dictionary(id: UInt32) async throws -> [UInt8]?
    /// Inflates a stored document (for clients without the DICTIONARY feature).
    public func purgeTombstones(upTo revision: UInt64) async throws -> Int   // raises the horizon
    (and the importer: importFiles / ImportReport, see Importer.swift)

    // Replica side
    public func replicaState() async throws -> ReplicaState
    /// Applies one batch and advances the cursor in ONE transaction (crash-safe resume).
    public func applyBatch(_ changes: [ReplicaChange], upstreamStoreID: [UInt8], cursor: UInt64) async throws
    public func saveDictionary(id: UInt32, bytes: [UInt8]) async throws
    public func list(_ filter: ListFilter) async throws -> [ArticleSummary]   // newest first
    public func search(_ text: String, limit: Int) async throws -> [SearchHit] // FTS5, ranked
    public func allIDs() async throws -> Set<String>
    public func liveCount() async throws -> Int
}
*/
