import ArticleModel
@testable import ArticleStore
import Foundation
import GRDB
import XCTest

/// A broad prefix (`Bund*`) is read as an OR of the index's terms (FullTextIndexTerms) once it
/// provably matches too many articles to rank: the same hits, in the same order, as FTS5's own
/// prefix query.
final class BroadPrefixSearchTests: XCTestCase {
    let upstream = StoreID(bytes: [UInt8](repeating: 0xB5, count: 16))!
    static let stems = ["bund", "bundes", "bündnis", "fußball", "größen", "groe", "zug", "rote"]
    static let ends = ["amt", "tag", "rat", "land", "bank", "liga", "weit", "heit", "karte", "kanzler", "straße", "wehr"]

    /// Bodies of compounds (stem, a number, an ending), so that a prefix has many terms, some in
    /// many articles and some in a few; titles without them, so that a snippet's column is the body.
    static func articles(_ count: Int, words: Int) -> [(String, Article)] {
        (0..<count).map { index in
            let body = (0..<words).map { word -> String in
                let n = index * 31 + word * 7
                switch n % 5 {
                case 0: return "Berlin"
                case 1: return stems[n % stems.count] + ends[(n / 5) % ends.count]
                case 2: return stems[(n / 3) % stems.count] + "\(n % 97)" + ends[n % ends.count]
                case 3: return index % 3 == 0 ? "Wetter" : "und"
                default: return stems[(n / 7) % stems.count]
                }
            }.joined(separator: " ")
            let category = index % 2 == 0 ? "Politik" : "Sport"
            return (String(format: "p%05d", index), Fixture.article(title: "Meldung \(index)", body: body, category: category))
        }
    }

    func fill(_ replica: ReplicaStore, _ articles: [(String, Article)], batch: Int) async throws {
        var revision: UInt64 = 0
        for chunk in stride(from: 0, to: articles.count, by: batch) {
            let changes = articles[chunk..<min(chunk + batch, articles.count)].map { id, article -> ReplicaChange in
                revision += 1
                return .put(id: id, revision: revision, article: article, contentHash: StoreDigest.contentHash(of: article.source))
            }
            try await replica.applyBatch(changes, upstreamStoreID: upstream, cursor: revision)
        }
    }

    func vocabulary(_ replica: ReplicaStore, prefix: String) async throws -> [String] {
        try await replica.file.pool.write { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocabulary USING fts5vocab(main, article_fts, row)")
            return try String.fetchAll(db, sql: "SELECT term FROM temp.vocabulary WHERE substr(term, 1, ?) = ? ORDER BY term",
                                       arguments: [prefix.utf8.count, prefix])
        }
    }

    func testThePagesOfTheIndexNameTheTermsOfAPrefixAsFTS5sVocabularyDoes() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: true)
        // Row by row in batches: several segments, and doclists over many leaf pages.
        try await fill(replica, Self.articles(3_000, words: 60), batch: 400)
        let segments = try await replica.file.pool.read { try FullTextIndexMerge.structure($0, schema: "main")?.segmentCount ?? 0 }
        XCTAssertGreaterThan(segments, 1)
        try await replica.applyBatch(
            (0..<300).map { .delete(id: String(format: "p%05d", $0 * 10), revision: UInt64(3_001 + $0)) },
            upstreamStoreID: upstream, cursor: 3_300)

        for prefix in ["bund", "bundes", "bundnis", "b", "fussball", "grossen", "groe", "zug1", "berlin", "wetter", "u", "x", "zzz", "9"] {
            let expected = try await vocabulary(replica, prefix: prefix)
            let expansion = try await replica.file.pool.read { try FullTextIndexTerms.expand($0, prefix: prefix, limit: 100_000) }
            let found = try XCTUnwrap(expansion, prefix)
            // Terms whose rows are all deleted may linger in older segments until a merge: a term
            // too many is harmless in an OR, a term missing would lose hits.
            XCTAssertTrue(Set(expected).isSubset(of: found.terms.map(\.text)), prefix)
            XCTAssertEqual(found.terms.map(\.text), found.terms.map(\.text).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, prefix)
            XCTAssertEqual(expected.isEmpty, found.terms.isEmpty, prefix)
            if !expected.isEmpty { XCTAssertGreaterThan(found.pages, 0, prefix) }
        }
        let many = try await replica.file.pool.read { try FullTextIndexTerms.expand($0, prefix: "b", limit: 10) }
        XCTAssertNil(many, "more terms than the limit: FTS5's own prefix query answers")
        try replica.close()
    }

    func testALeafPageIsReadTermByTermAndAnythingElseIsRefused() {
        // Header: no rowid before the first term, footer at 14. "abc" whole, then "abd" sharing 2
        // bytes; the footer holds the offsets 4 and 4 + 6 (doclists are bytes the reader skips).
        let page: [UInt8] = [0, 0, 0, 14, 3, 0x61, 0x62, 0x63, 0xAA, 0xBB, 2, 1, 0x64, 0xCC, 4, 6]
        XCTAssertEqual(FullTextIndexTerms.leafTerms(page), [[0x61, 0x62, 0x63], [0x61, 0x62, 0x64]])
        XCTAssertNil(FullTextIndexTerms.leafTerms([0, 0, 0, 40, 3, 0x61]), "a footer beyond the page")
        XCTAssertNil(FullTextIndexTerms.leafTerms([0, 0, 0, 6, 9, 0x61, 4]), "a term longer than the page")
        XCTAssertEqual(FullTextIndexTerms.leafTerms([0, 0, 0, 4]), [], "a page of doclist only")
        XCTAssertEqual(FullTextIndexTerms.successor([0x30, 0x61, 0xFF]), [0x30, 0x62])
        XCTAssertNil(FullTextIndexTerms.successor([0xFF]))
    }

    func testABroadPrefixFindsTheSameArticlesInTheSameOrderAsFTS5sPrefixQuery() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: true)
        // Bodies of at most 16 words: a snippet is the whole body with its matches marked.
        try await fill(replica, Self.articles(1_200, words: 14), batch: 300)
        // Small limits: every prefix is broad, and a few dozen matches are too many to rank.
        let broad = SearchLimits(rankedMatches: 40, broadPrefixPages: 0, prefixExpansionTerms: 4_096, prefixProbeTerms: 2)
        let native = SearchLimits(rankedMatches: 40, broadPrefixPages: .max, prefixExpansionTerms: 4_096, prefixProbeTerms: 2)
        let queries = ["Bund*", "bundes*", "Bündnis*", "Berlin Bund*", "Berlin NOT Bund*", "Wetter -fußb*", "Bund* OR zug*", "Groe*", "größen*", "\"rote bund\"*", "zug1*"]
        var expanded = 0
        var answered = 0
        for query in queries {
            for filter in [ListFilter(limit: 25), ListFilter(category: "Sport", limit: 25)] {
                let expected = try await replica.searchResult(query, filter: filter, marks: .guillemets, limits: native)
                let actual = try await replica.searchResult(query, filter: filter, marks: .guillemets, limits: broad)
                XCTAssertEqual(actual.ranked, expected.ranked, query)
                XCTAssertEqual(actual.hits.map(\.summary.id), expected.hits.map(\.summary.id), query)
                XCTAssertEqual(actual.hits.map(\.snippet), expected.hits.map(\.snippet), query)
                if !expected.hits.isEmpty { answered += 1 }
            }
            let plan = try await replica.file.pool.read { db in try ReplicaStore.plan(db, SearchQuery(query)!, limits: broad) }
            if plan.expression != SearchQuery(query)!.ftsExpression {
                expanded += 1
                XCTAssertNil(plan.matches, "\(query): an OR of the terms only when too many match to rank")
            }
        }
        XCTAssertGreaterThanOrEqual(expanded, 7, "the broad prefixes were read as their terms")
        XCTAssertGreaterThanOrEqual(answered, 2 * queries.count - 4, "hits to compare")

        // A phrase with a prefix stays FTS5's; so does a prefix that matches few enough to rank.
        let phrase = try await replica.file.pool.read { db in try ReplicaStore.plan(db, SearchQuery("\"rote bund\"*")!, limits: broad) }
        XCTAssertEqual(phrase.expression, SearchQuery("\"rote bund\"*")!.ftsExpression)
        let few = try await replica.file.pool.read { db in
            try ReplicaStore.plan(db, SearchQuery("zug1*")!, limits: SearchLimits(rankedMatches: 10_000, broadPrefixPages: 0))
        }
        XCTAssertEqual(few.expression, SearchQuery("zug1*")!.ftsExpression)
        XCTAssertNotNil(few.matches)
        try replica.close()
    }

    func testATermCanBeWrittenOtherwiseInTheExpression() {
        let query = SearchQuery("Berlin Bund* OR Zug -fußb*")!
        XCTAssertEqual(query.ftsExpression, "\"Berlin\" AND (\"Bund\"* OR \"Zug\") NOT \"fußb\"*")
        let rewritten = query.ftsExpression { term, excluded in
            term.prefix ? (excluded ? "(\"x\")" : "(\"a\" OR \"b\")") : nil
        }
        XCTAssertEqual(rewritten, "\"Berlin\" AND ((\"a\" OR \"b\") OR \"Zug\") NOT (\"x\")")
    }

    func testRankingInSQLGivesTheHitsSnippetsAndRanksOfFTS5sSortTiesIncluded() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: true)
        // Every text three times under other ids: equal scores, whose order must not change.
        let texts = Self.articles(400, words: 40)
        let copies = (0..<3).flatMap { copy in texts.map { ("c\(copy)-\($0.0)", $0.1) } }
        try await fill(replica, copies, batch: 400)
        let sql = SearchLimits(rankInSQLFrom: 0)
        let fts5 = SearchLimits(rankInSQLFrom: .max)
        var compared = 0
        for query in ["Berlin", "Wetter", "und", "bund", "zug", "groe", "\"Berlin bund\"", "Berlin NOT Wetter", "Wetter OR bundestag", "nichts"] {
            for limit in [1, 7, 60] {
                let expected = try await replica.searchResult(query, filter: ListFilter(limit: limit), marks: .guillemets, limits: fts5)
                let actual = try await replica.searchResult(query, filter: ListFilter(limit: limit), marks: .guillemets, limits: sql)
                XCTAssertTrue(expected.ranked, query)
                XCTAssertEqual(actual.ranked, expected.ranked, query)
                XCTAssertEqual(actual.hits.map(\.summary), expected.hits.map(\.summary), "\(query), \(limit)")
                XCTAssertEqual(actual.hits.map(\.snippet), expected.hits.map(\.snippet), "\(query), \(limit)")
                for (a, e) in zip(actual.hits, expected.hits) { XCTAssertEqual(a.rank, e.rank, accuracy: 1e-9, query) }
                if expected.hits.count > 1 { compared += 1 }
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 16)
        // Equal scores: the earliest received copy first, as FTS5's sort gives them.
        let berlin = try await replica.searchResult("Berlin", filter: ListFilter(limit: 6), marks: .guillemets, limits: sql)
        XCTAssertEqual(berlin.hits[0].rank, berlin.hits[1].rank)
        for (hit, next) in zip(berlin.hits, berlin.hits.dropFirst()) where hit.rank == next.rank {
            XCTAssertLessThanOrEqual(hit.summary.id.prefix(2), next.summary.id.prefix(2))
        }
        try replica.close()
    }
}
