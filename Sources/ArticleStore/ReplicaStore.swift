import ArticleModel
import Foundation
import GRDB

/// A client's replica in a SQLite file (`StoreFile`): takes the upstream's revisions batch by
/// batch, keeps no tombstones, and records the store it follows and its cursor. A mirror keeps the
/// server's compressed documents; a reading replica keeps the text in clear with a full-text index.
public final class ReplicaStore: Sendable {
    let file: StoreFile
    /// A reading replica (true) keeps the full-text index; a mirror (false) does not.
    public let fullTextIndex: Bool

    public var path: String { file.path }
    /// The replica's own id (16 bytes); not the id of the store it follows.
    public var storeID: StoreID { file.storeID }

    /// Opens (creating when missing) the replica at `path`; the canonical store's file is refused.
    /// The full-text index is built or dropped to match `fullTextIndex` (see `hasFullTextIndex(at:)`
    /// to keep what a replica is).
    public init(path: String, fullTextIndex: Bool) throws {
        file = try StoreFile(path: path, role: .replica(fullTextIndex: fullTextIndex))
        self.fullTextIndex = fullTextIndex
    }

    public func close() throws {
        try file.close()
    }

    /// The cursor, the store followed, the count and the digest, read in one transaction.
    public func snapshot() async throws -> ReplicaSnapshot {
        try await file.meta().replicaSnapshot
    }

    /// Whether the replica at `path` keeps the full-text index (a reading replica) or not (a
    /// mirror), read without opening it as a store (which would convert it).
    public static func hasFullTextIndex(at path: String) throws -> Bool {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { try $0.tableExists("article_fts") }
        } catch {
            throw StoreError("cannot be read: \(StoreFile.describe(error))")
        }
    }

    /// Moves every commit of the closed replica at `path` from its WAL into the database file and
    /// removes the WAL, so the file can be renamed on its own.
    public static func checkpoint(at path: String) throws {
        do {
            let queue = try DatabaseQueue(path: path)
            _ = try queue.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            try queue.close()
        } catch {
            throw StoreError("cannot checkpoint: \(StoreFile.describe(error))")
        }
    }
}

extension ReplicaStore {
    /// A live article with its exact source; nil for an unknown id.
    public func article(id: String) async throws -> StoredArticle? {
        try await file.article(id: id)
    }

    /// Several live articles in one read (unknown ids are left out), keyed by the ids' bytes.
    public func articles(keys: [ArticleKey]) async throws -> [ArticleKey: StoredArticle] {
        try await file.articles(keys: keys)
    }

    /// Live articles, newest first (then by id), filtered by category and publication time.
    public func list(_ filter: ListFilter) async throws -> [ArticleSummary] {
        try await file.list(filter)
    }

    /// Every live id.
    public func allIDs() async throws -> Set<String> {
        try await file.allIDs()
    }

    /// Every live id as its bytes (`ArticleKey`): what to count and compare ids with.
    public func allKeys() async throws -> Set<ArticleKey> {
        try await file.allKeys()
    }

    /// How many of this replica's live articles the replica at `otherPath` does not hold live (ids
    /// compared as bytes: NFC and NFD "café" are two articles). What a swap to the other would
    /// remove, counted without reading the ids into memory.
    public func liveArticles(missingFrom otherPath: String) async throws -> Int {
        try await file.liveArticles(missingFrom: otherPath)
    }

    /// How the replica at `otherPath` differs from this one (`StoreFile.forEachDifference`): what
    /// replacing this replica with that one adds, changes and deletes.
    public func forEachDifference(to otherPath: String, _ body: (ReplicaDifference) throws -> Void) async throws {
        try await file.forEachDifference(to: otherPath, body)
    }

    /// A dictionary saved from the server, by its id (Adler-32).
    public func dictionary(id: UInt32) async throws -> [UInt8]? {
        try await file.dictionary(id: id)
    }

    /// SQLite's `PRAGMA integrity_check`: "ok", or the problems it found.
    public func integrityCheck() async throws -> String {
        try await file.integrityCheck()
    }
}
