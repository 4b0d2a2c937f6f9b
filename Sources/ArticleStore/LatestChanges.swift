import Foundation
import GRDB

/// One article's last change among those `LatestChanges` was given.
public struct LatestChange: Sendable, Hashable {
    public var revision: UInt64
    public var id: String
    /// nil for a deletion.
    public var title: String?
    /// What the change does to the replica; nil for a deletion of an article it does not hold.
    public var kind: ArrivalKind?

    /// `live`: the replica holds the article, not deleted.
    public init(revision: UInt64, id: String, title: String?, live: Bool) {
        self.revision = revision
        self.id = id
        self.title = title
        kind = title == nil ? (live ? .deleted : nil) : (live ? .changed : .new)
    }

    init(revision: UInt64, id: String, title: String?, kind: ArrivalKind?) {
        self.revision = revision
        self.id = id
        self.title = title
        self.kind = kind
    }
}

/// The last change of each article of a pull that is read and not applied (a dry run), kept by id
/// in a TEMP table of a connection of its own: what it holds in memory does not grow with the
/// changes, it needs no replica, and it writes to none. The table lives in SQLite's temporary
/// file, which SQLite unlinks as it opens it, so no file is left behind, not even by a crash.
public final class LatestChanges: Sendable {
    private let queue: DatabaseQueue

    public init() throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // On disk whatever SQLite's build prefers: in memory the table would grow with the pull.
            try db.execute(sql: "PRAGMA temp_store = FILE")
        }
        do {
            queue = try DatabaseQueue(configuration: configuration)
            try queue.inDatabase { db in
                // Revisions increase through a pull: the rowid orders the changes, and a later
                // change of an id takes over its row.
                try db.execute(
                    sql: """
                        CREATE TEMP TABLE latest_change (
                            revision INTEGER PRIMARY KEY,
                            id TEXT NOT NULL UNIQUE,
                            title TEXT,
                            kind TEXT)
                        """)
                // The rollback journal holds what one transaction (a page of changes) touches: a
                // little memory instead of a second temporary file.
                _ = try String.fetchOne(db, sql: "PRAGMA temp.journal_mode = MEMORY")
            }
        } catch {
            throw StoreError("cannot create it: \(StoreFile.describe(error))")
        }
    }

    /// Records `changes` (revisions increasing, above any recorded) in one transaction.
    public func record(_ changes: [LatestChange]) throws {
        guard !changes.isEmpty else { return }
        if let beyond = changes.first(where: { $0.revision > UInt64(Int64.max) }) {
            throw StoreError("cannot record revision \(beyond.revision): it is beyond what a store can record")
        }
        do {
            try queue.inTransaction { db in
                let upsert = try db.cachedStatement(
                    sql: """
                        INSERT INTO temp.latest_change (revision, id, title, kind) VALUES (?, ?, ?, ?)
                        ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, title = excluded.title, kind = excluded.kind
                        """)
                for change in changes {
                    upsert.setUncheckedArguments([Int64(change.revision), change.id, change.title, change.kind?.rawValue])
                    try upsert.execute()
                }
                return .commit
            }
        } catch {
            throw StoreError("cannot record the changes read: \(StoreFile.describe(error))")
        }
    }

    /// How many of the last changes would add, change and delete an article.
    public func counts() throws -> (new: Int, changed: Int, deleted: Int) {
        do {
            return try queue.inDatabase { db in
                var counts = (new: 0, changed: 0, deleted: 0)
                let rows = try Row.fetchCursor(db, sql: "SELECT kind, COUNT(*) FROM temp.latest_change WHERE kind IS NOT NULL GROUP BY kind")
                while let row = try rows.next() {
                    let count: Int = row[1]
                    switch ArrivalKind(rawValue: row[0]) {
                    case .new: counts.new = count
                    case .changed: counts.changed = count
                    case .deleted: counts.deleted = count
                    case nil: break
                    }
                }
                return counts
            }
        } catch {
            throw StoreError("cannot count its changes: \(StoreFile.describe(error))")
        }
    }

    /// Up to `limit` of the last changes after `revision`, in revision order; a deletion of an
    /// article the replica does not hold is left out.
    public func page(after revision: UInt64, limit: Int) throws -> [LatestChange] {
        do {
            return try queue.inDatabase { db in
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT revision, id, title, kind FROM temp.latest_change
                        WHERE revision > ? AND kind IS NOT NULL ORDER BY revision LIMIT ?
                        """,
                    arguments: [Int64(clamping: revision), limit])
                var page: [LatestChange] = []
                while let row = try rows.next() {
                    page.append(LatestChange(revision: row[0], id: row[1], title: row[2], kind: ArrivalKind(rawValue: row[3])))
                }
                return page
            }
        } catch {
            throw StoreError("cannot read its changes: \(StoreFile.describe(error))")
        }
    }
}
