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
        try await searchResult(text, filter: filter, marks: marks, limits: .standard)
    }

    func searchResult(_ text: String, filter: ListFilter, marks: SnippetMarks, limits: SearchLimits) async throws -> SearchResult {
        guard fullTextIndex else { throw StoreError("\(path) is a mirror, without a search index: `articlesync pull --no-mirror` makes it a reading replica (it builds the index once)") }
        guard let query = SearchQuery(text) else {
            if SearchQuery.onlyExcludes(text) {
                throw StoreError("a search needs a word to find, not only words to leave out (NOT, -)")
            }
            return SearchResult(hits: [], ranked: true)
        }
        // A bootstrap killed before its bulk build left the index stale: never answer from it.
        if try await isFullTextIndexPending() { try await buildFullTextIndex() }
        return try await file.pool.read { db in
            let (expression, matches) = try Self.plan(db, query, limits: limits)
            let ranked = matches != nil
            let limit = max(0, filter.limit ?? 20)
            if let matches, matches >= limits.rankInSQLFrom, filter == ListFilter(limit: filter.limit),
                !(Array(query.required.joined()) + query.excluded).contains(where: \.prefix)
            {
                return SearchResult(hits: try Self.rankedHits(db, expression, limit: limit, marks: marks), ranked: true)
            }
            // `rank MATCH` and `ORDER BY rank` let FTS5 sort by bm25 itself, so the LIMIT stops
            // the scan and snippet() runs for the rows shown only (with ORDER BY bm25(...) SQLite
            // sorted every match and made a snippet for each: seconds for a common word).
            // Unranked hits have no rank: bm25 of even one row reads the whole doclist of each
            // word for its document frequency, as long as the search itself at a million articles.
            var sql = """
                SELECT a.id, a.revision, a.published, a.category, a.title,
                    snippet(article_fts, -1, ?, ?, '…', 16) AS snippet, \(ranked ? "rank" : "0.0 AS rank")
                FROM article_fts JOIN article a ON a.rowid = article_fts.rowid
                WHERE article_fts MATCH ?\(ranked ? " AND rank MATCH 'bm25(5.0, 1.0)'" : "")
                """
            var arguments: StatementArguments = [marks.open, marks.close, expression]
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
            arguments += [limit]
            let hits = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                SearchHit(summary: StoreFile.summary(row), snippet: row["snippet"] ?? "", rank: -(row["rank"] as Double))
            }
            return SearchResult(hits: hits, ranked: ranked)
        }
    }

    /// The articles `expression` matches, counting no further than `limit + 1`.
    static func countMatches(_ db: Database, _ expression: String, upTo limit: Int) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT count(*) FROM (SELECT 1 FROM article_fts WHERE article_fts MATCH ? LIMIT ?)",
            arguments: [expression, limit + 1]) ?? 0
    }

    /// The best `limit` hits of a search without filters, ranked by SQLite, which keeps only the
    /// best rows while it reads, rather than FTS5's `ORDER BY rank`, which keeps every match with
    /// its positions and sorts them all: a fifth of the ranking's cost at thousands of matches.
    /// The snippets are then made for the hits alone, one statement each. Equal scores (copies of
    /// one text) come in the order FTS5's sort gives them, the earliest received first.
    static func rankedHits(_ db: Database, _ expression: String, limit: Int, marks: SnippetMarks) throws -> [SearchHit] {
        let best = try Row.fetchAll(
            db,
            sql: """
                SELECT rowid, bm25(article_fts, 5.0, 1.0) AS score FROM article_fts WHERE article_fts MATCH ?
                ORDER BY score, rowid LIMIT ?
                """,
            arguments: [expression, limit])
        let hit = try db.makeStatement(
            sql: """
                SELECT a.id, a.revision, a.published, a.category, a.title, snippet(article_fts, -1, ?, ?, '…', 16) AS snippet
                FROM article_fts JOIN article a ON a.rowid = article_fts.rowid
                WHERE article_fts MATCH ? AND article_fts.rowid = ?
                """)
        return try best.compactMap { row -> SearchHit? in
            let rowid: Int64 = row["rowid"]
            guard let found = try Row.fetchOne(hit, arguments: [marks.open, marks.close, expression, rowid]) else { return nil }
            return SearchHit(summary: StoreFile.summary(found), snippet: found["snippet"] ?? "", rank: -(row["score"] as Double))
        }
    }

    /// The MATCH expression to run and whether the hits can be ranked (at most `rankedMatches`
    /// matches). A broad prefix that provably matches more than that many articles is asked for as
    /// an OR of its terms, which FTS5 reads only as far as the newest hits go; the same articles
    /// match, in the same order (a snippet may show another passage of an article: FTS5's snippet
    /// prefers one with more different words of the query, and each term is a word of its own).
    /// `matches` is their number when the hits can be ranked, nil when there are too many.
    static func plan(_ db: Database, _ query: SearchQuery, limits: SearchLimits) throws -> (expression: String, matches: Int?) {
        let broad = try broadPrefixes(db, query, limits: limits)
        if !broad.isEmpty {
            // Fewer terms for a required prefix match fewer articles, so more than the limit with
            // them is more than the limit with all; an excluded prefix keeps all its terms.
            let probe = query.ftsExpression { term, excluded in
                guard let expansion = broad[term] else { return nil }
                return orExpression(excluded ? expansion : Array(expansion.sorted { $0.pages > $1.pages }.prefix(limits.prefixProbeTerms)))
            }
            if try countMatches(db, probe, upTo: limits.rankedMatches) > limits.rankedMatches {
                return (query.ftsExpression { term, _ in broad[term].map(orExpression) }, nil)
            }
        }
        let expression = query.ftsExpression
        let matches = try countMatches(db, expression, upTo: limits.rankedMatches)
        return (expression, matches > limits.rankedMatches ? nil : matches)
    }

    /// The query's broad prefixes (a word with `*`), each with the index's terms it stands for.
    static func broadPrefixes(_ db: Database, _ query: SearchQuery, limits: SearchLimits) throws -> [SearchQuery.Term: [FullTextIndexTerms.Term]] {
        let candidates = (query.required.flatMap { $0 } + query.excluded).filter(\.prefix)
        guard !candidates.isEmpty else { return [:] }
        let tokenizer = try db.makeTokenizer(FTS5TokenizerDescriptor(components: [StoreFile.ftsTokenizer]))
        var broad: [SearchQuery.Term: [FullTextIndexTerms.Term]] = [:]
        for term in candidates where broad[term] == nil {
            // One word, with the second spellings the tokenizer asks for beside it ("Groe*" is also
            // "gro*"); a phrase of several words stays FTS5's.
            let tokens = try tokenizer.tokenize(query: term.text)
            guard tokens.filter({ !$0.flags.contains(.colocated) }).count == 1 else { continue }
            var terms: [String: Int] = [:]
            var pages = 0
            var expanded = true
            for token in Set(tokens.map(\.token)) {
                guard let expansion = try FullTextIndexTerms.expand(db, prefix: token, limit: limits.prefixExpansionTerms) else {
                    expanded = false
                    break
                }
                for found in expansion.terms { terms[found.text] = found.pages }
                pages += expansion.pages
            }
            guard expanded, pages > limits.broadPrefixPages, !terms.isEmpty, terms.count <= limits.prefixExpansionTerms else { continue }
            broad[term] = terms.map { FullTextIndexTerms.Term(text: $0.key, pages: $0.value) }.sorted { $0.text < $1.text }
        }
        return broad
    }

    /// `("a" OR "b" OR …)`: each term as a word of its own.
    static func orExpression(_ terms: [FullTextIndexTerms.Term]) -> String {
        "(" + terms.map { SearchQuery.fts(SearchQuery.Term(text: $0.text, phrase: false, prefix: false)) }.joined(separator: " OR ") + ")"
    }
}

/// What a search may cost; tests make them small.
struct SearchLimits: Sendable {
    /// `ReplicaStore.rankedMatchLimit`.
    var rankedMatches = ReplicaStore.rankedMatchLimit

    /// Above this many leaf pages (4 KB each) of doclists, a prefix (`bund*`) is a broad one: FTS5
    /// merges them all for each statement that asks for it, before its first row, and a ranked
    /// search asks three times (the count, the ranking, bm25's document frequency).
    var broadPrefixPages = 64

    /// A broad prefix is asked for as an OR of its terms only up to this many of them.
    var prefixExpansionTerms = 4_096

    /// The largest terms of a broad prefix count its matches first: often enough to prove more
    /// than `rankedMatches`.
    var prefixProbeTerms = 16

    /// From this many matches on, a search without filters is ranked by `rankedHits`; below, one
    /// statement a hit for the snippets costs more than FTS5's sort saves.
    var rankInSQLFrom = 2_000

    static let standard = SearchLimits()
}
