import ArticleModel
import Foundation
import GRDB

extension ReplicaStore {
    /// Whether the reading replica's full-text index still has to be built (`buildFullTextIndex`):
    /// a bootstrap deferred it, or was killed before it was built. Always false on a mirror.
    public func isFullTextIndexPending() async throws -> Bool {
        guard fullTextIndex else { return false }
        return try await file.pool.read { db in try StoreFile.isFullTextIndexPending(db) }
    }

    /// Stops keeping the index row by row until `buildFullTextIndex`, for a bootstrap: FTS5 fed by
    /// triggers one article at a time costs several times the rest of the apply, one bulk build at
    /// the end about a third less than the triggers. The flag is set in the transaction that drops
    /// the triggers, so a replica killed at any point afterwards still knows its index is stale.
    public func deferFullTextIndex() async throws {
        guard fullTextIndex else { return }
        try await file.pool.write { db in
            guard try !StoreFile.isFullTextIndexPending(db) else { return }
            try StoreFile.dropFullTextTriggers(db)
            try StoreFile.setFullTextIndexPending(db, true)
        }
    }

    /// Builds the whole full-text index from the articles, restores the row-by-row triggers and
    /// clears the pending flag, all in one transaction: killed half-way, the replica is still
    /// pending and the next open builds it again. `progress(done, total)` follows the articles.
    public func buildFullTextIndex(progress: @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }) async throws {
        guard fullTextIndex else { return }
        try await file.pool.write { db in
            guard try StoreFile.isFullTextIndexPending(db) else { return }
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM article") ?? 0
            let first = try Int64.fetchOne(db, sql: "SELECT min(rowid) FROM article") ?? 0
            let last = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM article") ?? 0
            try self.expandCompressedDocuments(db)
            // Whatever an earlier index held is stale: start empty, then add the rows in rowid
            // ranges (as fast as FTS5's own 'rebuild', and it can report progress).
            try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('delete-all')")
            // No incremental merging during the bulk build, one merge at its end (below): 14.8 s
            // instead of 16.6 s at 100,000 articles. Restored before the commit.
            try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('automerge', 0)")
            progress(0, total)
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO article_fts(rowid, title, body)
                    SELECT rowid, title, body FROM article WHERE rowid > ? AND rowid <= ? AND deleted = 0
                    """)
            var lower = first - 1
            var done = 0
            let step: Int64 = 2_000
            while lower < last {
                try insert.execute(arguments: [lower, lower + step])
                done += db.changesCount
                lower += step
                progress(min(done, total), total)
            }
            // The bulk build leaves hundreds of small segments, which the row-by-row updates of later
            // pulls would merge bit by bit: the first incremental pulls after it took 1.8 s instead of
            // 0.7 s (1,600 changes at 100,000 articles). One merge now costs 1.9 s, once.
            try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('optimize')")
            try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('automerge', \(Self.ftsAutomerge))")
            try StoreFile.createFullTextTriggers(db)
            try StoreFile.setFullTextIndexPending(db, false)
        }
    }

    /// FTS5's default: merge once 4 segments of a level exist, as row-by-row updates add them.
    static let ftsAutomerge = 4

    /// A mirror keeps documents compressed (`replicaPut`); the index and its snippets read the
    /// text from `article`, so a mirror that becomes a reading replica gets its text back first.
    /// The row-by-row triggers are off while the index is pending: these updates do not fire them.
    func expandCompressedDocuments(_ db: Database) throws {
        // Row ids first: SQLite leaves a scan undefined when its table changes under it.
        let rowids = try Int64.fetchAll(db, sql: "SELECT rowid FROM article WHERE document IS NOT NULL")
        let select = try db.makeStatement(sql: "SELECT document, document_length FROM article WHERE rowid = ?")
        let update = try db.makeStatement(
            sql: "UPDATE article SET body = CAST(? AS TEXT), source = ?, document = NULL, document_length = NULL WHERE rowid = ?")
        for rowid in rowids {
            guard let row = try Row.fetchOne(select, arguments: [rowid]) else { continue }
            let article = try file.decodeStored(db, compressed: [UInt8](row[0] as Data), documentLength: row[1])
            let canonical = SeedFormat.render(article) == article.source
            try update.execute(arguments: [ExactText.argument(article.body), canonical ? nil : Data(article.source), rowid])
        }
    }
}

extension StoreFile {
    /// A replica indexed with an earlier tokenizer (before German folding: `unicode61
    /// remove_diacritics 2`, where "Strasse" missed "Straße") gets a new, empty index marked
    /// pending, which the next pull or search builds in bulk. Rebuilt rather than kept: an index
    /// answers only in its own tokenizer's terms, so keeping the old one would keep the misses.
    static func upgradeFullTextTokenizer(_ db: Database) throws {
        let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'article_fts'") ?? ""
        guard !sql.contains("tokenize='\(ftsTokenizer)'") else { return }
        try configureFullTextIndex(db, enabled: false)
        try configureFullTextIndex(db, enabled: true)
    }
}
