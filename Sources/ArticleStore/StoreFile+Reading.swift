import ArticleModel
import Foundation
import GRDB

/// What both roles read the same way: articles, listings, dictionaries.
extension StoreFile {
    /// A live article with its exact source; nil for an unknown id or a tombstone.
    func article(id: String) async throws -> StoredArticle? {
        try await pool.read { db in try self.fetchArticle(db, id: id) }
    }

    /// Several live articles in one read (unknown ids and tombstones are left out): one
    /// transaction and one prepared statement instead of a read per article. Keyed by the ids'
    /// bytes: two canonically equivalent ids are two articles (`ArticleKey`).
    func articles(keys: [ArticleKey]) async throws -> [ArticleKey: StoredArticle] {
        guard !keys.isEmpty else { return [:] }
        return try await pool.read { db in
            var found: [ArticleKey: StoredArticle] = [:]
            for key in keys {
                if let stored = try self.fetchArticle(db, id: key.id) { found[key] = stored }
            }
            return found
        }
    }

    func fetchArticle(_ db: Database, id: String) throws -> StoredArticle? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT revision, published, CAST(category AS BLOB) AS category, CAST(title AS BLOB) AS title,
                        CAST(body AS BLOB) AS body, source, content_hash, document, document_length
                    FROM article WHERE id = ? AND deleted = 0
                    """),
            arguments: [id])
        else { return nil }
        return try storedArticle(db, id: id, row: row)
    }

    /// The article of an `article` row read with the columns of `fetchArticle` (text as BLOB).
    func storedArticle(_ db: Database, id: String, row: Row) throws -> StoredArticle {
        let contentHash = [UInt8](row["content_hash"] as Data)
        let article: Article
        if let document = row["document"] as Data? {
            article = try decodeStored(db, compressed: [UInt8](document), documentLength: row["document_length"])
        } else {
            let published = PublicationTime(sortKey: row["published"])
            let category = ExactText.read(row, "category") ?? ""
            let title = ExactText.read(row, "title") ?? ""
            let body = ExactText.read(row, "body") ?? ""
            let source = (row["source"] as Data?).map { [UInt8]($0) }
                ?? SeedFormat.render(published: published, category: category, title: title, body: body)
            article = Article(published: published, category: category, title: title, body: body, source: source)
        }
        return StoredArticle(id: id, revision: UInt64(clamping: row["revision"] as Int64), contentHash: contentHash, article: article)
    }

    /// Live articles, newest first (then by id), filtered by category and publication time.
    func list(_ filter: ListFilter) async throws -> [ArticleSummary] {
        try await pool.read { db in
            var sql = """
                SELECT id, revision, published, CAST(category AS BLOB) AS category, CAST(title AS BLOB) AS title
                FROM article WHERE deleted = 0
                """
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
    func allIDs() async throws -> Set<String> {
        try await pool.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM article WHERE deleted = 0")) }
    }

    /// Every live id, as bytes: canonically equivalent ids stay apart (a `Set<String>` merges them).
    func allKeys() async throws -> Set<ArticleKey> {
        try await pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT id FROM article WHERE deleted = 0").map { ArticleKey($0) })
        }
    }

    /// Live articles here whose id is not live in the store file at `otherPath`, ids compared as
    /// bytes (SQLite's BINARY collation, as `ArticleKey`). Counted by SQLite through the other
    /// file's id index, on a read-only connection of its own: a million ids are never held.
    func liveArticles(missingFrom otherPath: String) async throws -> Int {
        try await withAttached(otherPath) { db in
            try Int.fetchOne(db, sql: "SELECT count(*) " + Self.liveHereNotThere) ?? 0
        }
    }

    /// How the replica at `otherPath` differs from this one, article by article: live there and
    /// not here (`.new`), live in both with another content hash (`.changed`), live here and not
    /// there (`.deleted`, without a title). Rows are read through a cursor, a page at a time, so
    /// a million differences cost what one page holds; `body` runs on the reading thread.
    func forEachDifference(to otherPath: String, _ body: (ReplicaDifference) throws -> Void) async throws {
        let queries: [(ArrivalKind, String)] = [
            (.new, """
                SELECT n.id, n.title FROM other.article n WHERE n.deleted = 0
                AND NOT EXISTS (SELECT 1 FROM main.article o WHERE o.id = n.id AND o.deleted = 0)
                """),
            (.changed, """
                SELECT n.id, n.title FROM other.article n JOIN main.article o ON o.id = n.id
                WHERE n.deleted = 0 AND o.deleted = 0 AND o.content_hash IS NOT n.content_hash
                """),
            (.deleted, "SELECT o.id, NULL " + Self.liveHereNotThere),
        ]
        try await withoutActuallyEscaping(body) { body in
            // Called only on the queue's thread, row after row, while the caller awaits: nothing
            // else touches what `body` captures meanwhile.
            nonisolated(unsafe) let body = body
            try await withAttached(otherPath) { db in
                for (kind, sql) in queries {
                    let rows = try Row.fetchCursor(db, sql: sql)
                    while let row = try rows.next() {
                        try body(ReplicaDifference(kind: kind, id: row[0], title: row[1]))
                    }
                }
            }
        }
    }

    /// The live articles of this file (`o`) that the attached one (`other`) does not hold live.
    private static let liveHereNotThere = """
        FROM main.article o WHERE o.deleted = 0
        AND NOT EXISTS (SELECT 1 FROM other.article n WHERE n.id = o.id AND n.deleted = 0)
        """

    /// `body` on a read-only connection of its own to this file, with the file at `otherPath`
    /// attached as `other`.
    private func withAttached<T: Sendable>(_ otherPath: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        // Without a transaction: SQLite attaches only outside one.
        return try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS other", arguments: [otherPath])
            defer { try? db.execute(sql: "DETACH DATABASE other") }
            return try body(db)
        }
    }

    /// SQLite's `PRAGMA integrity_check`: "ok", or the problems it found.
    func integrityCheck() async throws -> String {
        try await pool.read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
        }
    }

    /// A listing row; category and title exact when selected `CAST(… AS BLOB)` (`ExactText`).
    static func summary(_ row: Row) -> ArticleSummary {
        ArticleSummary(
            id: row["id"], revision: UInt64(clamping: row["revision"] as Int64), published: PublicationTime(sortKey: row["published"]),
            category: ExactText.read(row, "category") ?? "", title: ExactText.read(row, "title") ?? "")
    }

    /// A dictionary by its id (Adler-32), or nil when the store has none with that id.
    func dictionary(id: UInt32) async throws -> [UInt8]? {
        if let cached = dictionaries.withLock({ $0[id] }) { return cached }
        return try await pool.read { db in try self.dictionary(db, id: id) }
    }

    /// A dictionary by id, from the cache or the database.
    func dictionary(_ db: Database, id: UInt32) throws -> [UInt8]? {
        if let cached = dictionaries.withLock({ $0[id] }) { return cached }
        guard let data = try Data.fetchOne(db, sql: "SELECT bytes FROM dictionary WHERE id = ?", arguments: [Int64(id)]) else {
            return nil
        }
        let bytes = [UInt8](data)
        dictionaries.withLock { $0[id] = bytes }
        return bytes
    }

    /// Stores `bytes` as a dictionary (idempotent) and returns its id, its Adler-32.
    @discardableResult
    func insertDictionary(_ db: Database, bytes: [UInt8]) throws -> UInt32 {
        let id = ArticleCompression.id(ofDictionary: bytes)
        try db.execute(sql: "INSERT OR IGNORE INTO dictionary (id, bytes) VALUES (?, ?)", arguments: [Int64(id), Data(bytes)])
        dictionaries.withLock { $0[id] = bytes }
        return id
    }

    /// Inflates (with the named dictionary) and decodes a stored document.
    func decodeStored(_ db: Database, compressed: [UInt8], documentLength: Int) throws -> Article {
        let raw = try inflateStored(db, compressed: compressed, documentLength: documentLength)
        return try ArticleDocument.decode(raw)
    }

    func inflateStored(_ db: Database, compressed: [UInt8], documentLength: Int) throws -> [UInt8] {
        var missing: UInt32?
        do {
            // The preset path: zlib's own re-checks the 32 KiB dictionary's Adler-32 every time.
            return try compressed.withUnsafeBytes { bytes in
                try ArticleCompression.inflateDocument(bytes, documentLength: documentLength) { id in
                    if let bytes = try? self.dictionary(db, id: id) { return bytes }
                    missing = id
                    return nil
                }
            }
        } catch {
            if let missing {
                throw StoreError("stored document names dictionary \(String(missing, radix: 16)), which the store lacks")
            }
            throw StoreError("stored document is corrupt: \(error)", isDamage: true)
        }
    }
}
