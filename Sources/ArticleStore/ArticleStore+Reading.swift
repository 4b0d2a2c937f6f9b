import ArticleModel
import Foundation
import GRDB

extension ArticleStore {
    /// The latest revision: the canonical store's last assigned one, a replica's cursor.
    public func head() async throws -> UInt64 {
        try await pool.read { db in
            let state = try MetaState.load(db)
            return self.isCanonical ? state.head : state.cursor
        }
    }

    /// The oldest revision a client can resume from (§7.5); 0 on a replica.
    public func horizon() async throws -> UInt64 {
        try await pool.read { db in try MetaState.load(db).horizon }
    }

    /// The digest and live count at the head (a replica: at its cursor).
    public func digest() async throws -> DigestState {
        try await pool.read { db in
            let state = try MetaState.load(db)
            return DigestState(
                revision: self.isCanonical ? state.head : state.cursor, articleCount: state.liveCount,
                digest: state.digest.bytes)
        }
    }

    /// The digest as of `revision`: any revision in [horizon, head] on the canonical store (every
    /// revision is logged, §7.6); only the cursor on a replica. Nil otherwise.
    public func digest(at revision: UInt64) async throws -> DigestState? {
        try await pool.read { db -> DigestState? in
            let state = try MetaState.load(db)
            if !self.isCanonical {
                guard revision == state.cursor else { return nil }
                return DigestState(revision: revision, articleCount: state.liveCount, digest: state.digest.bytes)
            }
            guard revision >= state.horizon, revision <= state.head else { return nil }
            if revision == 0 {
                return DigestState(revision: 0, articleCount: 0, digest: StoreDigest.zero.bytes)
            }
            guard let row = try Row.fetchOne(
                db, sql: "SELECT live_count, digest FROM digest_log WHERE revision = ?", arguments: [Int64(revision)])
            else { return nil }
            return DigestState(revision: revision, articleCount: UInt64(clamping: row[0] as Int64), digest: [UInt8](row[1] as Data))
        }
    }

    /// A live article with its exact source; nil for an unknown id or a tombstone.
    public func article(id: String) async throws -> StoredArticle? {
        try await pool.read { db in try self.fetchArticle(db, id: id) }
    }

    /// Several live articles in one read (unknown ids and tombstones are left out): one
    /// transaction and one prepared statement instead of a read per article.
    public func articles(ids: [String]) async throws -> [String: StoredArticle] {
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in
            var found: [String: StoredArticle] = [:]
            for id in ids {
                if let stored = try self.fetchArticle(db, id: id) { found[id] = stored }
            }
            return found
        }
    }

    func fetchArticle(_ db: Database, id: String) throws -> StoredArticle? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT revision, published, category, title, body, source, content_hash, document, document_length
                    FROM article WHERE id = ? AND deleted = 0
                    """),
            arguments: [id])
        else { return nil }
        let contentHash = [UInt8](row["content_hash"] as Data)
        let article: Article
        if let document = row["document"] as Data? {
            article = try self.decodeStored(db, compressed: [UInt8](document), documentLength: row["document_length"])
        } else {
            let published = PublicationTime(sortKey: row["published"])
            let category: String = row["category"]
            let title: String = row["title"]
            let body: String = row["body"] ?? ""
            let source = (row["source"] as Data?).map { [UInt8]($0) }
                ?? SeedFormat.render(published: published, category: category, title: title, body: body)
            article = Article(published: published, category: category, title: title, body: body, source: source)
        }
        return StoredArticle(id: id, revision: UInt64(clamping: row["revision"] as Int64), contentHash: contentHash, article: article)
    }

    /// Live articles, newest first (then by id), filtered by category and publication time.
    public func list(_ filter: ListFilter) async throws -> [ArticleSummary] {
        try await pool.read { db in
            var sql = "SELECT id, revision, published, category, title FROM article WHERE deleted = 0"
            var arguments = StatementArguments()
            if let category = filter.category {
                sql += " AND category = ?"
                arguments += [category]
            }
            if let from = filter.from {
                sql += " AND published >= ?"
                arguments += [from.sortKey]
            }
            if let to = filter.to {
                sql += " AND published <= ?"
                arguments += [to.sortKey]
            }
            sql += " ORDER BY published DESC, id"
            if let limit = filter.limit {
                sql += " LIMIT ?"
                arguments += [max(0, limit)]
            }
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.summary)
        }
    }

    /// Every live id.
    public func allIDs() async throws -> Set<String> {
        try await pool.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM article WHERE deleted = 0")) }
    }

    /// The number of live articles (kept in the meta row, no scan).
    public func liveCount() async throws -> Int {
        try await pool.read { db in Int(try MetaState.load(db).liveCount) }
    }

    static func summary(_ row: Row) -> ArticleSummary {
        ArticleSummary(
            id: row["id"], revision: UInt64(clamping: row["revision"] as Int64), published: PublicationTime(sortKey: row["published"]),
            category: row["category"], title: row["title"])
    }
}

extension ArticleStore {
    /// SQLite's `PRAGMA integrity_check`: "ok", or the problems it found.
    public func integrityCheck() async throws -> String {
        try await pool.read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
        }
    }
}
