import ArticleModel
import Foundation
import GRDB

/// An article that a pull deleted and `--keep-deleted` kept.
public struct KeptArticle: Sendable, Hashable {
    public var summary: ArticleSummary
    /// When the pull deleted it (Unix seconds).
    public var deletedAt: Int64
}

/// Articles kept after their deletion (`pull --keep-deleted DAYS`), the way rsync's `--backup-dir`
/// keeps what `--delete` removes: the row stays with its content, marked deleted (`deleted = 1`,
/// `deleted_at` set), so it no longer counts as live (digest, count, `list`, `show`, search,
/// `export`) but can be listed (`list --deleted`) and written back (`export --deleted`) until a
/// pull with `--keep-deleted` expires it. An article that comes back (a later put) is live again.
extension ReplicaStore {
    /// Kept articles, most recently deleted first (then by id).
    public func keptArticles() async throws -> [KeptArticle] {
        try await file.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, revision, published, CAST(category AS BLOB) AS category, CAST(title AS BLOB) AS title, deleted_at
                    FROM article WHERE deleted = 1 AND deleted_at IS NOT NULL ORDER BY deleted_at DESC, id
                    """
            ).map { row in KeptArticle(summary: StoreFile.summary(row), deletedAt: row["deleted_at"]) }
        }
    }

    /// How many articles are kept (what `keptArticles()` lists, without reading them).
    public func keptCount() async throws -> Int {
        try await file.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM article WHERE deleted = 1 AND deleted_at IS NOT NULL") ?? 0
        }
    }

    /// Forgets the kept articles deleted before `cutoff` (Unix seconds); returns how many.
    @discardableResult
    public func expireKept(deletedBefore cutoff: Int64) async throws -> Int {
        try await file.pool.write { db in
            try db.execute(sql: "DELETE FROM article WHERE deleted = 1 AND deleted_at IS NOT NULL AND deleted_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    /// Brings into this replica, as kept articles, what a re-bootstrap is about to drop: every
    /// article of the replica at `oldPath`, live or kept, whose id this one does not hold. Live
    /// ones are marked deleted at `deletedAt`; kept ones keep their time. The dictionaries their
    /// documents name come along. One transaction; returns how many articles came.
    @discardableResult
    public func adoptDeleted(fromReplicaAt oldPath: String, deletedAt: Int64) async throws -> Int {
        try await file.pool.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS old", arguments: [oldPath])
            defer { try? db.execute(sql: "DETACH DATABASE old") }
            var adopted = 0
            try db.inTransaction {
                try db.execute(sql: "INSERT OR IGNORE INTO main.dictionary (id, bytes) SELECT id, bytes FROM old.dictionary")
                // Unique revisions below any this replica holds (a kept row keeps no upstream revision).
                let floor = try Int64.fetchOne(db, sql: "SELECT min(0, coalesce(MIN(revision), 0)) FROM main.article") ?? 0
                try db.execute(
                    sql: """
                        INSERT INTO main.article (
                            id, revision, deleted, deleted_at, published, category, title, body, source, content_hash, document, document_length)
                        SELECT o.id, ? - o.rowid, 1, coalesce(o.deleted_at, ?), o.published, o.category, o.title, o.body, o.source,
                            o.content_hash, o.document, o.document_length
                        FROM old.article o
                        WHERE (o.deleted = 0 OR o.deleted_at IS NOT NULL)
                            AND NOT EXISTS (SELECT 1 FROM main.article m WHERE m.id = o.id)
                        """,
                    arguments: [floor - 1, deletedAt])
                adopted = db.changesCount
                return .commit
            }
            self.file.dictionaries.withLock { $0.removeAll() }
            return adopted
        }
    }

    /// Calls `body` with every kept article in chunks (see `scanArticles`).
    public func scanKeptArticles(_ body: ([ScannedArticle]) throws -> Void) async throws {
        try await file.scan(kept: true, body)
    }
}
