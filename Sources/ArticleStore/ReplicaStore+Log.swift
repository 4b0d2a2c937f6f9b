import ArticleModel
import Foundation
import GRDB

/// What one change of a pull did to the replica.
public enum ArrivalKind: String, Sendable, Hashable, Codable {
    /// The id was not live in the replica.
    case new
    /// The replica held an older version.
    case changed
    /// The replica's article was deleted (or kept, with `--keep-deleted`).
    case deleted
}

/// One change that arrived by a pull, as the replica records it (`articlesync log`).
public struct Arrival: Sendable, Hashable {
    public var revision: UInt64
    public var id: String
    /// nil for a deletion.
    public var title: String?
    public var kind: ArrivalKind
    /// When its batch was committed, in seconds since 1970 (UTC).
    public var arrivedAt: Double

    public init(revision: UInt64, id: String, title: String?, kind: ArrivalKind, arrivedAt: Double) {
        self.revision = revision
        self.id = id
        self.title = title
        self.kind = kind
        self.arrivedAt = arrivedAt
    }
}

/// What a `push` from this machine last did to an article on the server. The replica learns of a
/// pushed revision only when it pulls it, so until then the next push of the same id must expect
/// the pushed revision, not the replica's older one (or none): a `push --delete` right after
/// creating an article is no conflict.
public struct PushRecord: Sendable, Hashable {
    public var id: String
    /// The article's revision on the server after the push (for a deletion, the tombstone's).
    public var revision: UInt64
    public var deleted: Bool
    public var pushedAt: Double

    public init(id: String, revision: UInt64, deleted: Bool, pushedAt: Double) {
        self.id = id
        self.revision = revision
        self.deleted = deleted
        self.pushedAt = pushedAt
    }
}

/// The replica's own record of arrivals and pushes.
///
/// Arrivals answer "what is new since I last read?" without a server: each batch of an incremental
/// pull adds a row per change in the transaction that applies it, so the record is exactly what
/// the replica took in. The table is bounded (`maxArrivals`, oldest dropped in the same
/// transaction). A bootstrap records nothing: every article of it is new, and a row per article
/// would only slow the largest pull.
extension ReplicaStore {
    public static let maxArrivals = 10_000

    /// Arrivals newest first: those after revision `afterRevision`, or arrived at or after
    /// `since` (Unix seconds), at most `limit`.
    public func arrivals(afterRevision: UInt64? = nil, since: Double? = nil, limit: Int) async throws -> [Arrival] {
        try await file.pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let afterRevision {
                conditions.append("revision > ?")
                _ = arguments.append(contentsOf: [Int64(clamping: afterRevision)])
            }
            if let since {
                conditions.append("arrived_at >= ?")
                _ = arguments.append(contentsOf: [since])
            }
            _ = arguments.append(contentsOf: [max(0, limit)])
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db,
                sql: "SELECT revision, id, CAST(title AS BLOB) AS title, kind, arrived_at FROM arrival_log \(filter) ORDER BY revision DESC LIMIT ?",
                arguments: arguments
            ).map { row in
                Arrival(
                    revision: UInt64(clamping: row["revision"] as Int64), id: row["id"],
                    title: (row["title"] as Data?).map { String(decoding: $0, as: UTF8.self) },
                    kind: ArrivalKind(rawValue: row["kind"]) ?? .changed, arrivedAt: row["arrived_at"])
            }
        }
    }

    /// Adds the batch's arrivals and drops the oldest beyond `maxArrivals`; part of the batch's
    /// transaction.
    static func recordArrivals(_ db: Database, _ arrivals: [Arrival]) throws {
        guard !arrivals.isEmpty else { return }
        // Rows a statement, not a statement a row: each statement that may replace a row keeps a
        // journal of the pages it touches (16 KiB each in a reading replica) until it ends.
        let rowsPerStatement = 100
        var start = arrivals.startIndex
        while start < arrivals.endIndex {
            let chunk = arrivals[start..<min(start + rowsPerStatement, arrivals.endIndex)]
            let values = Array(repeating: "(?, ?, CAST(? AS TEXT), ?, ?)", count: chunk.count).joined(separator: ", ")
            var arguments = StatementArguments()
            for arrival in chunk {
                arguments += [
                    Int64(clamping: arrival.revision), arrival.id, ExactText.argument(arrival.title), arrival.kind.rawValue,
                    arrival.arrivedAt,
                ]
            }
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO arrival_log (revision, id, title, kind, arrived_at) VALUES \(values)")
                .execute(arguments: arguments)
            start = chunk.endIndex
        }
        try db.cachedStatement(
            sql: "DELETE FROM arrival_log WHERE revision < (SELECT revision FROM arrival_log ORDER BY revision DESC LIMIT 1 OFFSET ?)"
        ).execute(arguments: [maxArrivals - 1])
    }

    /// Remembers what a push did on the server, one row per id (the latest push wins).
    public func recordPushes(_ records: [PushRecord]) async throws {
        for record in records where record.revision > UInt64(Int64.max) {
            throw StoreError("revision \(record.revision) is beyond what a store can record")
        }
        guard !records.isEmpty else { return }
        try await file.pool.write { db in
            let insert = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO push_log (id, revision, deleted, pushed_at) VALUES (?, ?, ?, ?)")
            for record in records {
                try insert.execute(arguments: [record.id, Int64(record.revision), record.deleted, record.pushedAt])
            }
            // What a pull has brought in since is known from the article itself.
            let cursor = try MetaState.load(db).cursor
            try db.execute(sql: "DELETE FROM push_log WHERE revision <= ?", arguments: [Int64(clamping: cursor)])
        }
    }

    /// The revision a push of `id` should expect on the server: the later of what the replica
    /// holds and what this machine pushed since the replica's cursor (0: no live article).
    public func expectedPushRevision(id: String) async throws -> UInt64 {
        let held = try await article(id: id)?.revision ?? 0
        let pushed: (revision: UInt64, deleted: Bool)? = try await file.pool.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT revision, deleted FROM push_log WHERE id = ?", arguments: [id])
            else { return nil }
            return (UInt64(clamping: row["revision"] as Int64), row["deleted"])
        }
        guard let pushed, pushed.revision > held else { return held }
        return pushed.deleted ? 0 : pushed.revision
    }
}

extension StoreFile {
    /// The arrival record and the push record (ReplicaStore+Log); a canonical store has both
    /// tables and no rows.
    static func registerArrivalAndPushLogMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-arrival-and-push-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE arrival_log (
                        revision INTEGER PRIMARY KEY,
                        id TEXT NOT NULL,
                        title TEXT,
                        kind TEXT NOT NULL,
                        arrived_at REAL NOT NULL
                    );
                    CREATE INDEX arrival_log_arrived_at ON arrival_log(arrived_at);
                    CREATE TABLE push_log (
                        id TEXT PRIMARY KEY,
                        revision INTEGER NOT NULL,
                        deleted INTEGER NOT NULL,
                        pushed_at REAL NOT NULL
                    );
                    """)
        }
    }
}
