import Foundation
import GRDB

extension ReplicaStore {
    /// Full-text search of title and body (FTS5), best first; builds a pending index first. Words are matched whole and all must
    /// occur; a word ending in `*` matches as a prefix. `rank` is the negated bm25 score (title
    /// weighted 5:1), so larger is better.
    public func search(_ text: String, limit: Int) async throws -> [SearchHit] {
        guard fullTextIndex else { throw StoreError("\(path) has no full-text index: open it as a reading replica") }
        guard let query = Self.ftsQuery(text) else { return [] }
        // A bootstrap killed before its bulk build left the index stale: never answer from it.
        if try await isFullTextIndexPending() { try await buildFullTextIndex() }
        return try await file.pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT a.id, a.revision, a.published, a.category, a.title,
                        snippet(article_fts, -1, '«', '»', '…', 16) AS snippet,
                        bm25(article_fts, 5.0, 1.0) AS score
                    FROM article_fts JOIN article a ON a.rowid = article_fts.rowid
                    WHERE article_fts MATCH ?
                    ORDER BY score LIMIT ?
                    """,
                arguments: [query, max(0, limit)])
            return rows.map { row in
                SearchHit(summary: StoreFile.summary(row), snippet: row["snippet"] ?? "", rank: -(row["score"] as Double))
            }
        }
    }

    /// The user's words as an FTS5 query of quoted terms, so punctuation and FTS operators in the
    /// input are taken literally.
    static func ftsQuery(_ text: String) -> String? {
        let terms = text.split(whereSeparator: { $0.isWhitespace }).compactMap { word -> String? in
            var word = Substring(word)
            let prefix = word.hasSuffix("*")
            while word.hasSuffix("*") { word = word.dropLast() }
            let cleaned = word.replacingOccurrences(of: "\"", with: "\"\"")
            guard !cleaned.isEmpty else { return nil }
            return "\"\(cleaned)\"" + (prefix ? "*" : "")
        }
        return terms.isEmpty ? nil : terms.joined(separator: " ")
    }
}
