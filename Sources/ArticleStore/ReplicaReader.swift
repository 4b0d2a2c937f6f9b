import Foundation
import GRDB

/// A replica opened for reading only, for what must leave it byte for byte as it was (a dry run):
/// no migration, no change to its search index, no checkpoint at close, which opening a
/// `ReplicaStore` may all do. A replica this release would still migrate is read as it is.
public final class ReplicaReader: Sendable {
    private let queue: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            let role = try queue.read { db in try String.fetchOne(db, sql: "SELECT role FROM store_meta") }
            guard role == "replica" else {
                try? queue.close()
                throw StoreError("\(path) is \(role.map { "a \($0) store" } ?? "not a store"), not a replica")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("cannot be read: \(StoreFile.describe(error))")
        }
    }

    public func close() throws {
        try queue.close()
    }

    /// The cursor, the store followed, the count and the digest, read in one transaction.
    public func snapshot() throws -> ReplicaSnapshot {
        try queue.read { db in try MetaState.load(db).replicaSnapshot }
    }

    /// Which of `keys` are live articles here, each looked up through the id index: what this holds
    /// grows with the keys asked about (a pull's pending changes), not with the replica.
    public func liveKeys(among keys: some Sequence<ArticleKey>) throws -> Set<ArticleKey> {
        try queue.read { db in
            let statement = try db.cachedStatement(sql: "SELECT 1 FROM article WHERE id = ? AND deleted = 0")
            var live = Set<ArticleKey>()
            for key in keys where try Int.fetchOne(statement, arguments: [key.id]) != nil { live.insert(key) }
            return live
        }
    }

    /// A dictionary the replica keeps, by its id (Adler-32).
    public func dictionary(id: UInt32) throws -> [UInt8]? {
        try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT bytes FROM dictionary WHERE id = ?", arguments: [Int64(id)]).map { [UInt8]($0) }
        }
    }
}
