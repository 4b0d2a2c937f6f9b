import GRDB

/// The last pull that reached CAUGHT_UP, as the replica remembers it: what an unattended mirror
/// is checked by (`articlesync status`). Kept in the replica itself, so it describes exactly the
/// file it is in: a re-bootstrap swaps in a new file, which gets its own record at its end.
public struct PullRecord: Sendable, Hashable {
    /// When the pull finished, in seconds since 1970 (UTC).
    public var finishedAt: Double
    /// The server it pulled from, as `HOST:PORT`.
    public var server: String
    /// The replica's cursor after it.
    public var revision: UInt64
    public var applied: Int
    public var deleted: Int
    /// Articles a re-bootstrap removed; nil when the pull resumed normally.
    public var rebootstrapRemoved: Int?

    public init(finishedAt: Double, server: String, revision: UInt64, applied: Int, deleted: Int, rebootstrapRemoved: Int? = nil) {
        self.finishedAt = finishedAt
        self.server = server
        self.revision = revision
        self.applied = applied
        self.deleted = deleted
        self.rebootstrapRemoved = rebootstrapRemoved
    }
}

extension ReplicaStore {
    /// Replaces the record of the last successful pull.
    public func recordPull(_ record: PullRecord) async throws {
        guard record.revision <= UInt64(Int64.max) else { throw StoreError("revision \(record.revision) is beyond what a store can record") }
        try await file.pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO pull_log (singleton, finished_at, server, revision, applied, deleted, rebootstrap_removed)
                    VALUES (1, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [record.finishedAt, record.server, Int64(record.revision), record.applied, record.deleted, record.rebootstrapRemoved])
        }
    }

    /// The last successful pull; nil when none was recorded (a replica older than the record, or
    /// one whose every pull so far stopped early).
    public func lastPull() async throws -> PullRecord? {
        try await file.pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM pull_log WHERE singleton = 1") else { return nil }
            let revision: Int64 = row["revision"]
            return PullRecord(
                finishedAt: row["finished_at"], server: row["server"], revision: UInt64(max(0, revision)),
                applied: row["applied"], deleted: row["deleted"], rebootstrapRemoved: row["rebootstrap_removed"])
        }
    }
}

extension StoreFile {
    /// One row, replaced by every successful pull (a canonical store has the table and no row).
    static func registerPullLogMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("pull-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE pull_log (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        finished_at REAL NOT NULL,
                        server TEXT NOT NULL,
                        revision INTEGER NOT NULL,
                        applied INTEGER NOT NULL,
                        deleted INTEGER NOT NULL,
                        rebootstrap_removed INTEGER
                    )
                    """)
        }
    }
}
