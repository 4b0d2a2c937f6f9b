import ArticleModel
import Foundation
import GRDB

/// How `search` marks the matched words in a snippet.
public struct SnippetMarks: Sendable, Hashable {
    public var open: String
    public var close: String

    public init(open: String, close: String) {
        self.open = open
        self.close = close
    }

    /// «like this», for a terminal.
    public static let guillemets = SnippetMarks(open: "«", close: "»")
}

/// Hits, best first when `ranked`, else the latest received first (too many matches to rank).
public struct SearchResult: Sendable, Hashable {
    public var hits: [SearchHit]
    public var ranked: Bool
}

extension ReplicaStore {
    /// Full-text search of title and body (FTS5), best first; builds a pending index first. The
    /// syntax is `SearchQuery`'s (words, "phrases", prefix*, OR, NOT); German spellings meet
    /// (`GermanFoldingTokenizer`). `rank` is the negated bm25 score (title weighted 5:1), so larger
    /// is better.
    public func search(_ text: String, limit: Int) async throws -> [SearchHit] {
        try await search(text, filter: ListFilter(limit: limit))
    }

    /// A search among the articles `filter` lets through (category exact, as `resolveCategory`
    /// gives it; publication time); at most `filter.limit` hits (default 20).
    public func search(_ text: String, filter: ListFilter, marks: SnippetMarks = .guillemets) async throws -> [SearchHit] {
        try await searchResult(text, filter: filter, marks: marks).hits
    }

    /// Ranking costs bm25 for every match before the first hit is known: a few milliseconds per
    /// thousand. Past this many matches ("die", "und" alone) the hits come unranked instead.
    public static let rankedMatchLimit = 10_000

    /// `search`, and whether the hits are ranked: a query matching more than `rankedMatchLimit`
    /// articles gets the latest received first (FTS5 reads its index backwards and stops at the
    /// limit) rather than a ranking no reader would wait for or need.
    public func searchResult(_ text: String, filter: ListFilter, marks: SnippetMarks = .guillemets) async throws -> SearchResult {
        guard fullTextIndex else { throw StoreError("\(path) has no full-text index: open it as a reading replica") }
        guard let query = SearchQuery(text) else {
            if SearchQuery.onlyExcludes(text) {
                throw StoreError("a search needs a word to find, not only words to leave out (NOT, -)")
            }
            return SearchResult(hits: [], ranked: true)
        }
        // A bootstrap killed before its bulk build left the index stale: never answer from it.
        if try await isFullTextIndexPending() { try await buildFullTextIndex() }
        return try await file.pool.read { db in
            let matches = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM (SELECT 1 FROM article_fts WHERE article_fts MATCH ? LIMIT ?)",
                arguments: [query.ftsExpression, Self.rankedMatchLimit + 1]) ?? 0
            let ranked = matches <= Self.rankedMatchLimit
            // `rank MATCH` and `ORDER BY rank` let FTS5 sort by bm25 itself, so the LIMIT stops
            // the scan and snippet() runs for the rows shown only (with ORDER BY bm25(...) SQLite
            // sorted every match and made a snippet for each: seconds for a common word).
            var sql = """
                SELECT a.id, a.revision, a.published, a.category, a.title,
                    snippet(article_fts, -1, ?, ?, '…', 16) AS snippet, rank
                FROM article_fts JOIN article a ON a.rowid = article_fts.rowid
                WHERE article_fts MATCH ? AND rank MATCH 'bm25(5.0, 1.0)'
                """
            var arguments: StatementArguments = [marks.open, marks.close, query.ftsExpression]
            if let category = filter.category {
                sql += " AND a.category = ?"
                arguments += [category]
            }
            if let from = filter.from {
                sql += " AND a.published >= ?"
                arguments += [from.sortKey]
            }
            if let to = filter.to {
                sql += " AND a.published <= ?"
                arguments += [to.sortKey]
            }
            sql += ranked ? " ORDER BY rank LIMIT ?" : " ORDER BY article_fts.rowid DESC LIMIT ?"
            arguments += [max(0, filter.limit ?? 20)]
            let hits = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                SearchHit(summary: StoreFile.summary(row), snippet: row["snippet"] ?? "", rank: -(row["rank"] as Double))
            }
            return SearchResult(hits: hits, ranked: ranked)
        }
    }
}
