import ArticleModel
@testable import ArticleStore
import Foundation
import GRDB
import XCTest

final class GermanSearchTests: XCTestCase {
    let upstream = StoreID(bytes: [UInt8](repeating: 0xAB, count: 16))!

    func put(_ id: String, _ revision: UInt64, _ article: Article) -> ReplicaChange {
        .put(id: id, revision: revision, article: article, contentHash: StoreDigest.contentHash(of: article.source))
    }

    func makeReplica(_ directory: TemporaryDirectory, _ articles: [(String, Article)]) async throws -> ReplicaStore {
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: true)
        let changes = articles.enumerated().map { put($0.element.0, UInt64($0.offset + 1), $0.element.1) }
        try await replica.applyBatch(changes, upstreamStoreID: upstream, cursor: UInt64(articles.count))
        return replica
    }

    func ids(_ replica: ReplicaStore, _ text: String, _ filter: ListFilter = ListFilter(limit: 50)) async throws -> Set<String> {
        Set(try await replica.search(text, filter: filter).map(\.summary.id))
    }

    func testSharpSAndUmlautsFoldSoThatEverySpellingOfAWordMeets() async throws {
        let directory = try TemporaryDirectory()
        let replica = try await makeReplica(directory, [
            ("strasse-sz", Fixture.article(title: "Verkehr", body: "Die Straße bleibt gesperrt.")),
            ("strasse-ss", Fixture.article(title: "Verkehr", body: "Die Strasse bleibt gesperrt.")),
            ("groesse-uml", Fixture.article(title: "Mode", body: "Welche Größe passt?")),
            ("groesse-oe", Fixture.article(title: "Mode", body: "Welche Groesse passt?")),
            ("mueller", Fixture.article(title: "Sport", body: "Thomas Müller trifft.")),
            ("bauer", Fixture.article(title: "Land", body: "Ein Bauer und neue Felder.")),
            ("cafe", Fixture.article(title: "Kultur", body: "Im Café ÉTÉ.")),
            ("capital", Fixture.article(title: "Schrift", body: "GROẞE BUCHSTABEN")),
        ])
        for spelling in ["strasse", "Strasse", "STRASSE", "Straße", "STRAẞE"] {
            assertEqual(try await ids(replica, spelling), ["strasse-sz", "strasse-ss"], spelling)
        }
        for spelling in ["Größe", "GRÖSSE", "grösse", "Groesse", "groeße", "GROESSE"] {
            assertEqual(try await ids(replica, spelling), ["groesse-uml", "groesse-oe", "capital"], "\(spelling): ö is o too, so große meets")
        }
        assertEqual(try await ids(replica, "grosse"), ["groesse-uml", "capital"], "a/o/u without e is the plain fold")
        assertEqual(try await ids(replica, "Mueller"), ["mueller"])
        assertEqual(try await ids(replica, "muller"), ["mueller"])
        assertEqual(try await ids(replica, "Baur"), [], "a/o/u never ask for ae/oe/ue")
        assertEqual(try await ids(replica, "Bauer"), ["bauer"])
        assertEqual(try await ids(replica, "neu"), [], "neue is not neu")
        assertEqual(try await ids(replica, "\"Thomas Mueller\""), ["mueller"], "the second spelling keeps its place in a phrase")
        assertEqual(try await ids(replica, "Muel*"), ["mueller"], "and works as a prefix")
        assertEqual(try await ids(replica, "cafe"), ["cafe"], "other diacritics are removed")
        assertEqual(try await ids(replica, "ete"), ["cafe"])
        assertEqual(try await ids(replica, "große"), ["groesse-uml", "capital"], "ẞ is ss too")

        let snippets = Set(try await replica.search("Groesse", limit: 5).map(\.snippet))
        XCTAssertEqual(snippets, ["Welche «Größe» passt?", "Welche «Groesse» passt?", "«GROẞE» BUCHSTABEN"], "the snippet marks the word as written")
        try replica.close()
    }

    func testQuotesMakeAPhraseAndOrNotAndPrefixesWork() async throws {
        let directory = try TemporaryDirectory()
        let replica = try await makeReplica(directory, [
            ("hoffnung", Fixture.article(title: "Lied", body: "Die Hoffnung befriedigst du nicht.")),
            ("umgekehrt", Fixture.article(title: "Lied", body: "Befriedigst Hoffnung, sagt er.")),
            ("fussball", Fixture.article(title: "Fußball", body: "Das Spiel endet.")),
            ("bahn", Fixture.article(title: "Bahn", body: "Der Zug fährt.")),
            ("bus", Fixture.article(title: "Bus", body: "Der Bus fährt.")),
        ])
        assertEqual(try await ids(replica, "\"Hoffnung befriedigst\""), ["hoffnung"])
        assertEqual(try await ids(replica, "\"befriedigst Hoffnung\""), ["umgekehrt"])
        assertEqual(try await ids(replica, "Hoffnung befriedigst"), ["hoffnung", "umgekehrt"], "words without quotes in any order")
        assertEqual(try await ids(replica, "Fußb*"), ["fussball"])
        assertEqual(try await ids(replica, "FUSSB*"), ["fussball"])
        assertEqual(try await ids(replica, "Zug OR Bus"), ["bahn", "bus"])
        assertEqual(try await ids(replica, "fährt NOT Bus"), ["bahn"])
        assertEqual(try await ids(replica, "fährt -bus"), ["bahn"])
        assertEqual(try await ids(replica, "Hoffnung NOT \"befriedigst Hoffnung\""), ["hoffnung"])
        assertEqual(try await ids(replica, "fährt or Bus"), [], "lower-case or is a word to find")
        do {
            _ = try await replica.search("NOT Bus", limit: 5)
            XCTFail("a search of only excluded words has nothing to find")
        } catch let error as StoreError {
            XCTAssertTrue("\(error)".contains("not only words to leave out"), "\(error)")
        }
        try replica.close()
    }

    func testTheQuerySyntaxBecomesQuotedFTS5Terms() {
        XCTAssertEqual(SearchQuery("Straße Berlin")?.ftsExpression, "\"Straße\" AND \"Berlin\"")
        XCTAssertEqual(SearchQuery("\"rote Karte\" Fußb*")?.ftsExpression, "\"rote Karte\" AND \"Fußb\"*")
        XCTAssertEqual(SearchQuery("a OR b c")?.ftsExpression, "(\"a\" OR \"b\") AND \"c\"")
        XCTAssertEqual(SearchQuery("Berlin NOT Wetter -Regen")?.ftsExpression, "\"Berlin\" NOT \"Wetter\" NOT \"Regen\"")
        XCTAssertEqual(SearchQuery("\"rote Kar\"*")?.ftsExpression, "\"rote Kar\"*")
        XCTAssertEqual(SearchQuery("OR a OR")?.ftsExpression, "\"a\"", "a dangling OR is ignored")
        XCTAssertEqual(SearchQuery("title:x NEAR(a b) ^c")?.ftsExpression, "\"title:x\" AND \"NEAR(a\" AND \"b)\" AND \"^c\"")
        XCTAssertEqual(SearchQuery("\"unclosed phrase")?.ftsExpression, "\"unclosed phrase\"")
        XCTAssertEqual(SearchQuery("say \"\"\"")?.ftsExpression, "\"say\"")
        XCTAssertNil(SearchQuery("  * - \"\" "))
        XCTAssertNil(SearchQuery("NOT x"))
        XCTAssertTrue(SearchQuery.onlyExcludes("NOT x -y"))
    }

    func testCategoryAndDateFiltersNarrowASearch() async throws {
        let directory = try TemporaryDirectory()
        let replica = try await makeReplica(directory, [
            ("welt-5", Fixture.article(title: "Straße", day: 5, category: "Welt Nachrichten")),
            ("welt-20", Fixture.article(title: "Straße", day: 20, category: "Welt Nachrichten")),
            ("sport-12", Fixture.article(title: "Straße", day: 12, category: "Sport")),
        ])
        guard case .exact(let welt) = try await replica.resolveCategory("WELT nachrichten") else { return XCTFail("case-insensitive") }
        XCTAssertEqual(welt, "Welt Nachrichten")
        assertEqual(try await replica.resolveCategory("nachricht"), .unknown(suggestions: ["Welt Nachrichten"]))
        assertEqual(try await ids(replica, "strasse", ListFilter(category: welt, limit: 10)), ["welt-5", "welt-20"])
        let from = PublicationTime(year: 2025, month: 4, day: 10, hour: 0, minute: 0)
        let to = PublicationTime(year: 2025, month: 4, day: 15, hour: 23, minute: 59)
        assertEqual(try await ids(replica, "strasse", ListFilter(from: from, limit: 10)), ["welt-20", "sport-12"])
        assertEqual(try await ids(replica, "strasse", ListFilter(from: from, to: to, limit: 10)), ["sport-12"])
        assertEqual(try await replica.categories(), [CategoryCount(name: "Welt Nachrichten", count: 2), CategoryCount(name: "Sport", count: 1)])
        try replica.close()
    }

    func testUniqueIDPrefixesResolveAndAmbiguousOnesListTheCandidates() async throws {
        let directory = try TemporaryDirectory()
        let replica = try await makeReplica(directory, [
            ("2f910ce6754fa13e", Fixture.article(title: "A")),
            ("2f91aa0000000000", Fixture.article(title: "B")),
            ("77aa000000000000", Fixture.article(title: "C")),
        ])
        assertEqual(try await replica.resolveID("77"), .unique("77aa000000000000"))
        assertEqual(try await replica.resolveID("2f910"), .unique("2f910ce6754fa13e"))
        assertEqual(try await replica.resolveID("2f91"), .ambiguous(["2f910ce6754fa13e", "2f91aa0000000000"], more: false))
        assertEqual(try await replica.resolveID("2f910ce6754fa13e"), .unique("2f910ce6754fa13e"))
        assertEqual(try await replica.resolveID("ff"), .none)
        assertEqual(try await replica.resolveID("", suggestions: 2), .none)
        assertEqual(try await replica.resolveID("2", suggestions: 1), .ambiguous(["2f910ce6754fa13e"], more: true))
        try replica.close()
    }

    func testNeighboursAndPagesFollowTheNewestFirstListing() async throws {
        let directory = try TemporaryDirectory()
        let replica = try await makeReplica(directory, [
            ("old", Fixture.article(title: "Alt", day: 1)),
            ("mid-a", Fixture.article(title: "Mitte A", day: 5, category: "Sport")),
            ("mid-b", Fixture.article(title: "Mitte B", day: 5)),
            ("new", Fixture.article(title: "Neu", day: 9)),
        ])
        let all = ListFilter()
        let first = try await replica.listPage(all, after: nil, limit: 2)
        XCTAssertEqual(first.map(\.id), ["new", "mid-a"])
        let next = try await replica.listPage(all, after: ListPosition(published: first[1].published, id: first[1].id), limit: 2)
        XCTAssertEqual(next.map(\.id), ["mid-b", "old"])
        let middle = try await replica.neighbours(of: "mid-a", in: all)
        XCTAssertEqual(middle.newer?.id, "new")
        XCTAssertEqual(middle.older?.id, "mid-b")
        let politics = try await replica.neighbours(of: "mid-b", in: ListFilter(category: "Politik"))
        XCTAssertEqual(politics.newer?.id, "new", "neighbours within the category")
        XCTAssertEqual(politics.older?.id, "old")
        let end = try await replica.neighbours(of: "old", in: all)
        XCTAssertNil(end.older)
        assertEqual(try await replica.latestRevision(), 4)
        try replica.close()
    }

    func testAReplicaIndexedWithTheOldTokenizerIsReindexedOnOpen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("r.sqlite")
        try await makeReplica(directory, [("street", Fixture.article(title: "Verkehr", body: "Die Straße bleibt gesperrt."))]).close()
        // The index as releases before German folding made it.
        var configuration = Configuration()
        // Dropping an FTS5 table loads its tokenizer.
        configuration.prepareDatabase { db in db.add(tokenizer: GermanFoldingTokenizer.self) }
        let old = try DatabaseQueue(path: path, configuration: configuration)
        try await old.write { db in
            try db.execute(
                sql: """
                    DROP TABLE article_fts;
                    CREATE VIRTUAL TABLE article_fts USING fts5(
                        title, body, content='article', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
                    INSERT INTO article_fts(article_fts) VALUES ('rebuild');
                    """)
        }
        try old.close()

        let replica = try ReplicaStore(path: path, fullTextIndex: true)
        assertEqual(try await replica.isFullTextIndexPending(), true, "the old index is replaced and marked for a rebuild")
        assertEqual(try await ids(replica, "strasse"), ["street"])
        assertEqual(try await replica.isFullTextIndexPending(), false)
        try await replica.applyBatch([put("groesse", 2, Fixture.article(title: "Größe"))], upstreamStoreID: upstream, cursor: 2)
        assertEqual(try await ids(replica, "Groesse"), ["groesse"], "row-by-row triggers feed the new index")
        try replica.close()
        let reopened = try ReplicaStore(path: path, fullTextIndex: true)
        assertEqual(try await reopened.isFullTextIndexPending(), false, "an up-to-date index is kept")
        try reopened.close()
    }
}
