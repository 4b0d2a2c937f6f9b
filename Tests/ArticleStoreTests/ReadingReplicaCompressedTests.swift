import ArticleModel
@testable import ArticleStore
import Foundation
import GRDB
import XCTest

/// A reading replica keeps the server's compressed documents and indexes their text through a view
/// that inflates them (ReplicaStore+FullTextIndex).
final class ReadingReplicaCompressedTests: XCTestCase {
    static let dictionary = Array(String(repeating: "Die Bundesregierung und der Bundestag beraten über Gespräche. ", count: 40).utf8)

    /// A server holding `articles`, and what a client decodes from its changes: each article with
    /// the document as the server stores and sends it.
    func server(_ directory: TemporaryDirectory, _ articles: [(String, Article)]) async throws -> SQLiteCanonicalStore {
        let server = try SQLiteCanonicalStore(path: directory.file("server-\(UUID().uuidString).sqlite"))
        _ = try await server.installDictionary(Self.dictionary)
        _ = try await server.apply(articles.map { Fixture.put($0.0, $0.1) })
        return server
    }

    func changes(from server: SQLiteCanonicalStore, after: UInt64 = 0) async throws -> [ReplicaChange] {
        var changes: [ReplicaChange] = []
        for change in try await server.changes(after: after, limit: 1_000, tombstonesAfter: after).changes {
            switch change.kind {
            case .tombstone:
                changes.append(.delete(id: change.id, revision: change.revision))
            case .article(let document):
                let article = try ArticleDocument.decode(try await server.inflateDocument(document))
                changes.append(
                    .put(
                        id: change.id, revision: change.revision, article: article, contentHash: document.contentHash,
                        compressed: CompressedDocument(bytes: document.compressed, documentLength: document.documentLength)))
            }
        }
        return changes
    }

    func pull(_ server: SQLiteCanonicalStore, into replica: ReplicaStore, after: UInt64 = 0) async throws {
        let dictionaryID = ArticleCompression.id(ofDictionary: Self.dictionary)
        if try await replica.dictionary(id: dictionaryID) == nil { try await replica.saveDictionary(id: dictionaryID, bytes: Self.dictionary) }
        try await replica.applyBatch(
            try await changes(from: server, after: after), upstreamStoreID: server.storeID, cursor: try await server.snapshot().head)
    }

    static func count(_ path: String, _ sql: String) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? database.close() }
        return try database.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    func testAReadingReplicaKeepsDocumentsCompressedAndStillRanksPhrasesAndSnippets() async throws {
        let directory = try TemporaryDirectory()
        let messy = try SeedFormat.parse(Array(("\u{FEFF}" + Fixture.source(title: "Unordentlich", body: "Die rote Karte kam spät.") + "\r\n").utf8))
        let server = try await server(
            directory,
            [
                ("talks", Fixture.article(title: "Gespräche in Istanbul", body: "Die diplomatische Präsenz wird gestärkt.")),
                ("street", Fixture.article(title: "Verkehr", body: "Die Straße bleibt bis Montag gesperrt, sagt die rote Ampel.")),
                ("other", Fixture.article(title: "Wetter", body: "Sonne über ÖSTERREICH, Gespräche später.")),
                ("messy", messy),
            ])
        let path = directory.file("reading.sqlite")
        let replica = try ReplicaStore(path: path, fullTextIndex: true)
        try await pull(server, into: replica)
        XCTAssertEqual(try Self.count(path, "SELECT count(*) FROM article WHERE document IS NOT NULL AND body IS NULL"), 4, "no text in clear")

        let talks = try await replica.search("Gespräche", limit: 10)
        XCTAssertEqual(talks.map(\.summary.id), ["talks", "other"], "bm25: a title match ranks first")
        XCTAssertGreaterThan(talks[0].rank, talks[1].rank)
        XCTAssertEqual(talks[0].snippet, "«Gespräche» in Istanbul")
        XCTAssertEqual(talks[1].snippet, "Sonne über ÖSTERREICH, «Gespräche» später.", "the snippet is read from the inflated document")
        assertEqual(try await replica.search("\"rote Karte\"", limit: 10).map(\.summary.id), ["messy"], "a phrase")
        assertEqual(try await replica.search("rote Karte", limit: 10).map(\.summary.id), ["messy"])
        assertEqual(try await replica.search("rote", limit: 10).map(\.summary.id).sorted(), ["messy", "street"])
        assertEqual(try await replica.search("STRASSE", limit: 10).map(\.summary.id), ["street"], "German folding")
        assertEqual(try await replica.article(id: "messy")?.article, messy, "the exact source comes back from the document")
        assertEqual(try await replica.categories().map(\.count), [4])
        assertEqual(try await replica.fullTextIndexProblems(), nil)

        // Row by row afterwards: an edit drops the old words, a deletion the article.
        _ = try await server.apply([
            Fixture.put("street", Fixture.article(title: "Verkehr", body: "Die Brücke bleibt gesperrt.")), Fixture.delete("other"),
        ])
        try await pull(server, into: replica, after: 4)
        XCTAssertEqual(try Self.count(path, "SELECT count(*) FROM article WHERE document IS NOT NULL AND body IS NULL"), 3)
        assertEqual(try await replica.search("Straße", limit: 10).count, 0, "the old text left the index")
        assertEqual(try await replica.search("Brücke", limit: 10).first?.snippet, "Die «Brücke» bleibt gesperrt.")
        assertEqual(try await replica.search("Gespräche", limit: 10).map(\.summary.id), ["talks"])
        assertEqual(try await replica.fullTextIndexProblems(), nil)
        try replica.close()
    }

    func testABootstrapFeedsTheIndexFromTheApplyAndAnArticleChangedOrDeletedMidwayLeavesNoStaleEntry() async throws {
        let directory = try TemporaryDirectory()
        let server = try await server(
            directory,
            [
                ("a", Fixture.article(title: "Gespräche", body: "Die Straße bleibt gesperrt.")),
                ("b", Fixture.article(title: "Bankenaufsicht", body: "Die Zinsen steigen.")),
                ("c", Fixture.article(title: "Wetter", body: "Regen über Hamburg.")),
            ])
        let path = directory.file("reading.sqlite")
        let replica = try ReplicaStore(path: path, fullTextIndex: true)
        try await replica.deferFullTextIndex()
        XCTAssertEqual(try Self.count(path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 0, "no triggers while fed")
        try await pull(server, into: replica)
        // A killed bootstrap is searchable as far as it got: the index is consistent, only unmerged.
        assertEqual(try await replica.fullTextIndexProblems(), nil)

        // Changes that arrive within the same bootstrap: an edit, a deletion.
        _ = try await server.apply([Fixture.put("a", Fixture.article(title: "Gespräche", body: "Die Brücke bleibt gesperrt.")), Fixture.delete("b")])
        try await pull(server, into: replica, after: 3)
        assertEqual(try await replica.isFullTextIndexPending(), true, "merged at the end")
        assertEqual(try await replica.fullTextIndexProblems(), nil)
        try await replica.buildFullTextIndex()
        assertEqual(try await replica.isFullTextIndexPending(), false)
        XCTAssertEqual(try Self.count(path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 0, "the writes keep the index")
        assertEqual(try await replica.search("Straße", limit: 10).count, 0)
        assertEqual(try await replica.search("Zinsen", limit: 10).count, 0)
        assertEqual(try await replica.search("Brücke", limit: 10).map(\.summary.id), ["a"])
        assertEqual(try await replica.search("Hamburg", limit: 10).first?.snippet, "Regen über «Hamburg».")
        XCTAssertEqual(try Self.count(path, "SELECT count(*) FROM article WHERE document IS NOT NULL AND body IS NULL"), 2)
        XCTAssertEqual(try Self.count(path, "PRAGMA auto_vacuum"), 2, "incremental")
        XCTAssertEqual(try Self.count(path, "PRAGMA freelist_count"), 0, "the merge's freed pages went back")
        try replica.close()
    }

    /// What the release before this one made: the text in clear in `article`, the index reading it
    /// from there (content='article'), triggers on `body`.
    func testAReplicaWithTheTextInClearAndTheIndexOverTheTableIsReindexedOnceAndKeepsWorking() async throws {
        let directory = try TemporaryDirectory()
        let server = try await server(
            directory, [("street", Fixture.article(title: "Verkehr", body: "Die Straße bleibt gesperrt."))])
        let path = directory.file("reading.sqlite")
        let made = try ReplicaStore(path: path, fullTextIndex: true)
        try await pull(server, into: made)
        try made.close()
        var configuration = Configuration()
        configuration.prepareDatabase { db in db.add(tokenizer: GermanFoldingTokenizer.self) }
        let old = try DatabaseQueue(path: path, configuration: configuration)
        try await old.write { db in
            try db.execute(
                sql: "DROP TABLE article_fts; DROP VIEW article_text")
            // The text back in clear, as that release kept it (a canonical source is not stored).
            try db.execute(
                sql: "UPDATE article SET body = CAST(? AS TEXT), document = NULL, document_length = NULL", arguments: [Data("Die Straße bleibt gesperrt.".utf8)])
            try db.execute(
                sql: """
                    CREATE VIRTUAL TABLE article_fts USING fts5(
                        title, body, content='article', content_rowid='rowid', tokenize='german_fold');
                    INSERT INTO article_fts(article_fts) VALUES ('rebuild');
                    CREATE TRIGGER article_fts_insert AFTER INSERT ON article WHEN new.deleted = 0 BEGIN
                        INSERT INTO article_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
                    END;
                    CREATE TRIGGER article_fts_delete AFTER DELETE ON article WHEN old.deleted = 0 BEGIN
                        INSERT INTO article_fts(article_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
                    END;
                    CREATE TRIGGER article_fts_update AFTER UPDATE OF title, body, deleted ON article BEGIN
                        INSERT INTO article_fts(article_fts, rowid, title, body)
                            SELECT 'delete', old.rowid, old.title, old.body WHERE old.deleted = 0;
                        INSERT INTO article_fts(rowid, title, body)
                            SELECT new.rowid, new.title, new.body WHERE new.deleted = 0;
                    END;
                    """)
        }
        try old.close()

        let replica = try ReplicaStore(path: path, fullTextIndex: true)
        assertEqual(try await replica.isFullTextIndexPending(), true, "the index over the table is replaced and marked for a rebuild")
        XCTAssertEqual(try Self.count(path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 0, "its triggers are gone")
        assertEqual(try await replica.search("Strasse", limit: 10).first?.snippet, "Die «Straße» bleibt gesperrt.")
        assertEqual(try await replica.isFullTextIndexPending(), false)
        assertEqual(try await replica.article(id: "street")?.article.body, "Die Straße bleibt gesperrt.")
        // What comes next is kept compressed; the row in clear is replaced by its new version.
        _ = try await server.apply([
            Fixture.put("street", Fixture.article(title: "Verkehr", body: "Die Brücke bleibt gesperrt.")),
            Fixture.put("bank", Fixture.article(title: "Bankenaufsicht")),
        ])
        try await pull(server, into: replica, after: 1)
        assertEqual(try await replica.search("Straße", limit: 10).count, 0)
        assertEqual(try await replica.search("Brücke", limit: 10).map(\.summary.id), ["street"])
        assertEqual(try await replica.search("Bankenaufsicht", limit: 10).map(\.summary.id), ["bank"])
        assertEqual(try await replica.fullTextIndexProblems(), nil)
        try replica.close()
        XCTAssertEqual(try Self.count(path, "SELECT count(*) FROM article WHERE document IS NOT NULL AND body IS NULL"), 2)
    }

    /// FTS5 writes what it holds as a new segment at every statement savepoint (which a trigger
    /// opens) and whenever a rowid comes below the last one; an incremental pull edits articles in
    /// revision order, whatever their rowids. Its index writes come at the batch's end, in rowid
    /// order, in statements that open none: one segment per batch.
    func testAnIncrementalBatchBecomesOneIndexSegmentWhateverTheOrderOfItsRows() async throws {
        let directory = try TemporaryDirectory()
        let ids = (0..<12).map { "a" + String($0 / 10) + String($0 % 10) }
        let server = try await server(
            directory, ids.map { ($0, Fixture.article(title: "Meldung \($0)", body: "Die Regierung berät über Haushalt \($0)."))})
        let path = directory.file("reading.sqlite")
        let replica = try ReplicaStore(path: path, fullTextIndex: true)
        try await pull(server, into: replica)

        var configuration = Configuration()
        configuration.prepareDatabase { db in db.add(tokenizer: GermanFoldingTokenizer.self) }
        let raw = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? raw.close() }
        // No merging, so that the segments count the writes.
        try await raw.write { db in try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('automerge', 0)") }
        func segments() async throws -> Int {
            try await raw.read { db in try FullTextIndexMerge.structure(db, schema: "main")?.segmentCount ?? -1 }
        }
        let before = try await segments()

        // Edits from the last row to the third, two deletions, two new articles.
        var edits = ids[2...].reversed().map { Fixture.put($0, Fixture.article(title: "Meldung \($0)", body: "Die Brücke \($0) bleibt gesperrt.")) }
        edits += [Fixture.delete(ids[0]), Fixture.delete(ids[1])]
        edits += ["n1", "n2"].map { Fixture.put($0, Fixture.article(title: "Neu \($0)", body: "Hochwasser in Dresden.")) }
        _ = try await server.apply(edits)
        try await pull(server, into: replica, after: UInt64(ids.count))

        let after = try await segments()
        XCTAssertEqual(after, before + 1, "one segment for the batch")
        assertEqual(try await replica.search("Regierung", limit: 20).count, 0, "every old entry went")
        assertEqual(try await replica.search("Brücke", limit: 20).count, 10)
        assertEqual(try await replica.search("Hochwasser", limit: 20).map(\.summary.id).sorted(), ["n1", "n2"])
        assertEqual(try await replica.fullTextIndexProblems(), nil)
        try replica.close()
    }

    func testADamagedIndexIsReported() async throws {
        let directory = try TemporaryDirectory()
        let server = try await server(directory, [("street", Fixture.article(title: "Verkehr", body: "Die Straße bleibt gesperrt."))])
        let path = directory.file("reading.sqlite")
        let replica = try ReplicaStore(path: path, fullTextIndex: true)
        try await pull(server, into: replica)
        try replica.close()
        var configuration = Configuration()
        configuration.prepareDatabase { db in db.add(tokenizer: GermanFoldingTokenizer.self) }
        let raw = try DatabaseQueue(path: path, configuration: configuration)
        // The entry is made for other words than the article holds.
        try await raw.write { db in
            try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('delete-all')")
            try db.execute(sql: "INSERT INTO article_fts(rowid, title, body) SELECT rowid, 'Anderes', 'ganz andere Wörter' FROM article")
        }
        try raw.close()
        let reopened = try ReplicaStore(path: path, fullTextIndex: true)
        let problems = try await reopened.fullTextIndexProblems()
        XCTAssertNotNil(problems)
        try reopened.close()
    }
}
