import ArticleModel
@testable import ArticleStore
import Foundation
import GRDB
import Synchronization
import XCTest

final class ReplicaStoreTests: XCTestCase {
    let upstream = StoreID(bytes: [UInt8](repeating: 0xAB, count: 16))!

    func put(_ id: String, _ revision: UInt64, _ article: Article) -> ReplicaChange {
        .put(id: id, revision: revision, article: article, contentHash: StoreDigest.contentHash(of: article.source))
    }

    /// a, b and NFC café live; gone deleted; kept deleted and kept (`--keep-deleted`); cursor 7.
    func fillWithLiveDeletedAndKeptArticles(_ replica: ReplicaStore) async throws {
        let article = Fixture.article(title: "Titel")
        try await replica.applyBatch(
            [put("a", 1, article), put("b", 2, article), put("caf\u{E9}", 3, article), put("gone", 4, article), put("kept", 5, article)],
            upstreamStoreID: upstream, cursor: 5)
        try await replica.applyBatch([.delete(id: "gone", revision: 6)], upstreamStoreID: upstream, cursor: 6)
        try await replica.applyBatch([.delete(id: "kept", revision: 7)], upstreamStoreID: upstream, cursor: 7, options: ApplyOptions(keepDeletedAt: 1))
    }

    /// A reading replica counts its categories from an index of live articles (no scan of the
    /// documents); a mirror has none; reopening one as the other adds or drops it; counts stay
    /// exact through edits, deletions and kept deletions.
    func testAReadingReplicaCountsCategoriesFromAnIndexOfLiveArticlesAndAMirrorKeepsNone() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("replica.sqlite")
        func plan(_ replica: ReplicaStore) async throws -> String {
            try await replica.file.pool.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT category, count(*) AS n FROM article WHERE deleted = 0 GROUP BY category ORDER BY n DESC, category")
                    .map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        var replica = try ReplicaStore(path: path, fullTextIndex: true)
        try await replica.applyBatch(
            [
                put("a", 1, Fixture.article(title: "A", category: "Sport")), put("b", 2, Fixture.article(title: "B", category: "Sport")),
                put("c", 3, Fixture.article(title: "C", category: "Politik")), put("d", 4, Fixture.article(title: "D", category: "Kultur")),
                put("e", 5, Fixture.article(title: "E", category: "Kultur")),
            ],
            upstreamStoreID: upstream, cursor: 5)
        try await replica.applyBatch(
            [put("c", 6, Fixture.article(title: "C2", category: "Sport")), .delete(id: "d", revision: 7)], upstreamStoreID: upstream, cursor: 7)
        try await replica.applyBatch([.delete(id: "e", revision: 8)], upstreamStoreID: upstream, cursor: 8, options: ApplyOptions(keepDeletedAt: 1))
        let expected = [CategoryCount(name: "Sport", count: 3)]
        assertEqual(try await replica.categories(), expected)
        let reading = try await plan(replica)
        XCTAssertTrue(reading.contains("article_category"), reading)
        try replica.close()

        replica = try ReplicaStore(path: path, fullTextIndex: false)
        assertEqual(try await replica.categories(), expected)
        let mirror = try await plan(replica)
        XCTAssertFalse(mirror.contains("article_category"), mirror)
        try replica.close()

        replica = try ReplicaStore(path: path, fullTextIndex: true)
        assertEqual(try await replica.categories(), expected)
        let again = try await plan(replica)
        XCTAssertTrue(again.contains("article_category"), again)
        try replica.close()
    }

    /// What a re-bootstrap's swap would remove: live ids here that are not live there, as bytes.
    func testTheArticlesASwapWouldRemoveAreCountedByIDBytesAndOnlyLiveOnes() async throws {
        let directory = try TemporaryDirectory()
        let old = try ReplicaStore(path: directory.file("old.sqlite"), fullTextIndex: false)
        let new = try ReplicaStore(path: directory.file("new.sqlite"), fullTextIndex: false)
        let nfd = "cafe\u{301}"
        let article = Fixture.article(title: "Titel")
        try await fillWithLiveDeletedAndKeptArticles(old)
        try await new.applyBatch(
            [put("a", 1, article), put(nfd, 2, article), put("b", 3, article), put("only-new", 4, article)], upstreamStoreID: upstream, cursor: 4)
        try await new.applyBatch([.delete(id: "b", revision: 5)], upstreamStoreID: upstream, cursor: 5, options: ApplyOptions(keepDeletedAt: 1))

        // b is kept there but not live; NFC café is not NFD café; gone and kept are not live here.
        assertEqual(try await old.liveArticles(missingFrom: directory.file("new.sqlite")), 2)
        assertEqual(try await new.liveArticles(missingFrom: directory.file("old.sqlite")), 2, "NFD café and only-new")
        assertEqual(try await old.liveArticles(missingFrom: directory.file("old.sqlite")), 0)
        try old.close()
        try new.close()
    }

    /// A dry run asks which of a pull's ids are live: by their bytes, deleted and kept ones not,
    /// ids the replica never had not, and only the ids asked about come back.
    func testAReadOnlyReplicaSaysWhichOfTheIDsAskedAboutAreLiveByTheirBytes() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("replica.sqlite")
        let replica = try ReplicaStore(path: path, fullTextIndex: false)
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        try await fillWithLiveDeletedAndKeptArticles(replica)
        try replica.close()

        let reader = try ReplicaReader(path: path)
        defer { try? reader.close() }
        let asked: [ArticleKey] = ["a", ArticleKey(nfc), ArticleKey(nfd), "gone", "kept", "never"]
        assertEqual(try reader.liveKeys(among: asked), ["a", ArticleKey(nfc)])
        assertEqual(try reader.liveKeys(among: [ArticleKey]()), [])
    }

    func testABatchAndItsCursorAreAppliedTogetherAndTheDigestMatchesTheServers() async throws {
        let directory = try TemporaryDirectory()
        let server = try SQLiteCanonicalStore(path: directory.file("server.sqlite"))
        let replica = try ReplicaStore(path: directory.file("replica.sqlite"), fullTextIndex: false)
        assertEqual(try await replica.snapshot(), ReplicaSnapshot(upstreamStoreID: nil, cursor: 0, articleCount: 0, digest: .zero))

        let messy = try SeedFormat.parse(Array(("\u{FEFF}" + Fixture.source(title: "Unordentlich") + "\r\n").utf8))
        _ = try await server.apply([
            Fixture.put("a", Fixture.article(title: "A")), Fixture.put("b", Fixture.article(title: "B")),
            Fixture.put("m", messy),
        ])
        _ = try await server.apply([Fixture.delete("b")])

        // What a client would receive: the latest state of every changed article.
        var changes: [ReplicaChange] = []
        for change in try await server.changes(after: 0, limit: 100, tombstonesAfter: 0).changes {
            switch change.kind {
            case .tombstone:
                changes.append(.delete(id: change.id, revision: change.revision))
            case .article(let document):
                let article = try ArticleDocument.decode(try await server.inflateDocument(document))
                changes.append(.put(id: change.id, revision: change.revision, article: article, contentHash: document.contentHash))
            }
        }
        try await replica.applyBatch(changes, upstreamStoreID: server.storeID, cursor: try await server.snapshot().head)
        let replicaSnapshot = try await replica.snapshot()
        XCTAssertEqual(replicaSnapshot.upstreamStoreID, server.storeID)
        XCTAssertEqual(replicaSnapshot.cursor, 4)
        let serverDigest = try await server.snapshot().digestState
        XCTAssertEqual(replicaSnapshot.digestState, serverDigest)
        assertEqual(try await replica.allIDs(), ["a", "m"])
        assertEqual(try await replica.snapshot().articleCount, 2)
        assertEqual(try await replica.article(id: "m")?.article.source, messy.source, "the exact bytes are kept")
        assertEqual(try await replica.article(id: "a")?.article.source, Fixture.article(title: "A").source)
    }

    func testAMirrorKeepsTheServersCompressedDocumentsAndGivesBackEveryByte() async throws {
        let directory = try TemporaryDirectory()
        let server = try SQLiteCanonicalStore(path: directory.file("server.sqlite"))
        let dictionary = Array(String(repeating: "Die Bundesregierung und der Bundestag beraten über Gespräche. ", count: 40).utf8)
        let dictionaryID = try await server.installDictionary(dictionary)
        let messy = try SeedFormat.parse(Array(("\u{FEFF}" + Fixture.source(title: "Unordentlich") + "\r\n").utf8))
        _ = try await server.apply([Fixture.put("a", Fixture.article(title: "Gespräche über Banken")), Fixture.put("m", messy)])

        func changes(from store: SQLiteCanonicalStore) async throws -> [ReplicaChange] {
            var changes: [ReplicaChange] = []
            for change in try await server.changes(after: 0, limit: 100, tombstonesAfter: 0).changes {
                guard case .article(let document) = change.kind else { continue }
                XCTAssertEqual(ArticleCompression.dictionaryID(of: document.compressed), dictionaryID)
                let article = try ArticleDocument.decode(try await server.inflateDocument(document))
                changes.append(
                    .put(
                        id: change.id, revision: change.revision, article: article, contentHash: document.contentHash,
                        compressed: CompressedDocument(bytes: document.compressed, documentLength: document.documentLength)))
            }
            return changes
        }

        let path = directory.file("mirror.sqlite")
        let mirror = try ReplicaStore(path: path, fullTextIndex: false)
        try await mirror.saveDictionary(id: dictionaryID, bytes: dictionary)
        try await mirror.applyBatch(try await changes(from: server), upstreamStoreID: server.storeID, cursor: try await server.snapshot().head)
        let mirrorDigest = try await mirror.snapshot().digestState
        let serverDigest = try await server.snapshot().digestState
        XCTAssertEqual(mirrorDigest, serverDigest)
        assertEqual(try await mirror.article(id: "m")?.article, messy, "a non-canonical source survives compressed")
        assertEqual(try await mirror.article(id: "a")?.article, try await server.article(id: "a")?.article)
        assertEqual(try await mirror.list(ListFilter()).map(\.title).sorted(), ["Gespräche über Banken", "Unordentlich"])
        try mirror.close()
        XCTAssertEqual(try Self.rowsKeptCompressed(path), 2)

        // Opened as a reading replica, the documents stay compressed: the index and its snippets
        // read them through a view that inflates them.
        let reading = try ReplicaStore(path: path, fullTextIndex: true)
        assertEqual(try await reading.search("Banken", limit: 10).map(\.snippet), ["Gespräche über «Banken»"])
        assertEqual(try await reading.article(id: "m")?.article, messy)
        assertEqual(try await reading.integrityCheck(), "ok")
        try reading.close()
        XCTAssertEqual(try Self.rowsKeptCompressed(path), 2)

        // A replica without the named dictionary could not read the bytes back: it keeps the text.
        let lacking = try ReplicaStore(path: directory.file("lacking.sqlite"), fullTextIndex: false)
        try await lacking.applyBatch(try await changes(from: server), upstreamStoreID: server.storeID, cursor: try await server.snapshot().head)
        assertEqual(try await lacking.article(id: "m")?.article, messy)
        try lacking.close()
        XCTAssertEqual(try Self.rowsKeptCompressed(directory.file("lacking.sqlite")), 0)
    }

    /// A bulk pull's checkpoints run on a connection of their own (`withCheckpointsBeside`): the WAL
    /// still starts again from its beginning, at a fraction of what was written (the writer's own
    /// checkpoints, every 1,000 pages, would let it grow past that), and every row is there.
    func testABulkWritesCheckpointsRunBesideTheWriterAndKeepTheWALBounded() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("replica.sqlite")
        let replica = try ReplicaStore(path: path, fullTextIndex: false)
        func walBytes() -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? 0
        }
        var generator = SystemRandomNumberGenerator()
        func paragraph() -> String {
            (0..<400).map { _ in ["Hafen", "Straße", "Gespräch", "Bundestag", "Wetter", "Bahn", "Schule"].randomElement(using: &generator)! + String(UInt8.random(in: 0...99, using: &generator)) }
                .joined(separator: " ")
        }
        let batches = 80
        let perBatch = 25
        var largestWAL = 0
        var textBytes = 0
        let head = UInt64(batches * perBatch)
        assertEqual(try await replica.writerCheckpointPages(), 1_000, "SQLite's own, before")
        try await replica.withCheckpointsBeside(passiveFrames: 20, restartFrames: 200) {
            assertEqual(try await replica.writerCheckpointPages(), 0, "the writer does not checkpoint itself meanwhile")
            for batch in 0..<batches {
                var changes: [ReplicaChange] = []
                for index in 0..<perBatch {
                    let revision = UInt64(batch * perBatch + index + 1)
                    let body = paragraph()
                    textBytes += body.utf8.count
                    changes.append(put(String(format: "a%05d", revision), revision, Fixture.article(title: "Artikel \(revision)", body: body)))
                }
                try await replica.applyBatch(changes, upstreamStoreID: upstream, cursor: changes.last!.revision)
                largestWAL = max(largestWAL, walBytes())
            }
        }
        assertEqual(try await replica.writerCheckpointPages(), 1_000, "the writer's own checkpoints are back")
        let written = try await replica.snapshot()
        XCTAssertEqual(written.articleCount, head)
        XCTAssertEqual(written.cursor, head)
        let integrity = try await replica.integrityCheck()
        XCTAssertEqual(integrity, "ok")
        XCTAssertGreaterThan(textBytes, 6 * 1024 * 1024, "the batches wrote enough to need several checkpoints")
        XCTAssertGreaterThan(largestWAL, 0)
        XCTAssertLessThan(largestWAL, textBytes / 3, "the WAL started again from its beginning while the batches were written")
        try replica.close()
    }

    /// A bootstrap writes its rows through a statement of its own (`NewRowInsert`); whatever way a
    /// row came, every column holds the same value of the same type, so the queries of `list`,
    /// `read`, `search` and `verify` find it the same way.
    func testABootstrapWritesEveryColumnAsAnIncrementalPullDoes() async throws {
        let directory = try TemporaryDirectory()
        let server = try SQLiteCanonicalStore(path: directory.file("server.sqlite"))
        let dictionary = Array(String(repeating: "Die Bundesregierung und der Bundestag beraten über Gespräche. ", count: 40).utf8)
        let dictionaryID = try await server.installDictionary(dictionary)
        let messy = try SeedFormat.parse(Array(("\u{FEFF}" + Fixture.source(title: "Unordentlich") + "\r\n").utf8))
        let withNUL = Fixture.article(title: "Mit NUL", body: "Vor\u{0}nach dem NUL.")
        _ = try await server.apply([
            Fixture.put("plain", Fixture.article(title: "Gespräche über Banken", category: "Wirtschaft")),
            Fixture.put("messy", messy), Fixture.put("nul", withNUL), Fixture.put("mirror", Fixture.article(title: "Nur komprimiert")),
        ])
        var changes: [ReplicaChange] = []
        for change in try await server.changes(after: 0, limit: 100, tombstonesAfter: 0).changes {
            guard case .article(let document) = change.kind else { continue }
            let article = try ArticleDocument.decode(try await server.inflateDocument(document))
            let compressed = CompressedDocument(bytes: document.compressed, documentLength: document.documentLength)
            switch change.id {
            case "mirror":
                changes.append(
                    .putDocument(
                        id: change.id, revision: change.revision, heading: ArticleHeading(article), contentHash: document.contentHash,
                        document: compressed))
            case "plain":
                changes.append(
                    .put(id: change.id, revision: change.revision, article: article, contentHash: document.contentHash, compressed: compressed))
            default:
                changes.append(.put(id: change.id, revision: change.revision, article: article, contentHash: document.contentHash))
            }
        }
        let head = try await server.snapshot().head
        func rows(bootstrap: Bool, fullTextIndex: Bool) async throws -> [[String]] {
            let path = directory.file("replica-\(bootstrap)-\(fullTextIndex).sqlite")
            let replica = try ReplicaStore(path: path, fullTextIndex: fullTextIndex)
            try await replica.saveDictionary(id: dictionaryID, bytes: dictionary)
            var options = ApplyOptions()
            options.expectsNewArticles = bootstrap
            options.sourcePaths = [SourcePath(id: "plain", path: "2024/plain.txt"), SourcePath(id: "mirror", path: "")]
            try await replica.applyBatch(changes, upstreamStoreID: server.storeID, cursor: head, options: options)
            let replicaDigest = try await replica.snapshot().digestState
            let serverDigest = try await server.snapshot().digestState
            XCTAssertEqual(replicaDigest, serverDigest)
            assertEqual(try await replica.article(id: "nul")?.article, withNUL)
            assertEqual(try await replica.article(id: "messy")?.article, messy)
            if fullTextIndex {
                assertEqual(try await replica.search("Banken", limit: 10).map(\.summary.id), ["plain"])
            }
            try replica.close()
            let queue = try DatabaseQueue(path: path)
            defer { try? queue.close() }
            return try await queue.read { db in
                let columns = [
                    "id", "revision", "deleted", "published", "category", "title", "body", "source", "content_hash", "document",
                    "document_length", "source_path", "deleted_at",
                ]
                let select = columns.map { "typeof(\($0)) || ':' || hex(\($0))" }.joined(separator: ", ")
                return try Row.fetchAll(db, sql: "SELECT \(select) FROM article ORDER BY id").map { row in
                    (0..<columns.count).map { "\(columns[$0])=" + (row[$0] as String? ?? "?") }
                }
            }
        }
        for fullTextIndex in [false, true] {
            let incremental = try await rows(bootstrap: false, fullTextIndex: fullTextIndex)
            XCTAssertEqual(incremental.count, 4)
            let bootstrapped = try await rows(bootstrap: true, fullTextIndex: fullTextIndex)
            XCTAssertEqual(bootstrapped, incremental)
            XCTAssertTrue(incremental.allSatisfy { $0[0].hasPrefix("id=text:") && $0[11].hasPrefix("source_path=") })
        }
    }

    /// A mirror is updated in place, a page per edited article, so small pages; bulk-read stores pack
    /// their rows into large ones. An existing file keeps the page size it was created with.
    func testMirrorsAreCreatedWithSmallPagesAndOtherStoresWithLargeOnes() throws {
        let directory = try TemporaryDirectory()
        try SQLiteCanonicalStore(path: directory.file("server.sqlite")).close()
        try ReplicaStore(path: directory.file("reading.sqlite"), fullTextIndex: true).close()
        try ReplicaStore(path: directory.file("mirror.sqlite"), fullTextIndex: false).close()
        for (name, expected) in [("server.sqlite", 16_384), ("reading.sqlite", 16_384), ("mirror.sqlite", 4_096)] {
            XCTAssertEqual(try Self.pageSize(directory.file(name)), expected, name)
        }
        // The mirror opened as a reading replica stays as it was made.
        try ReplicaStore(path: directory.file("mirror.sqlite"), fullTextIndex: true).close()
        XCTAssertEqual(try Self.pageSize(directory.file("mirror.sqlite")), 4_096)
    }

    static func pageSize(_ path: String) throws -> Int {
        let database = try DatabaseQueue(path: path)
        defer { try? database.close() }
        return try database.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") ?? -1 }
    }

    static func rowsKeptCompressed(_ path: String) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? database.close() }
        return try database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM article WHERE document IS NOT NULL AND body IS NULL") ?? -1
        }
    }

    func testUpdatesAndDeletesKeepTheRunningDigestExact() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: true)
        try await replica.applyBatch(
            [put("a", 1, Fixture.article(title: "A")), put("b", 2, Fixture.article(title: "B"))], upstreamStoreID: upstream, cursor: 2)
        try await replica.applyBatch(
            [put("a", 3, Fixture.article(title: "A2")), .delete(id: "b", revision: 4), .delete(id: "never", revision: 5)],
            upstreamStoreID: upstream, cursor: 5)
        assertEqual(try await replica.snapshot().digest, try await replica.recomputedDigest())
        assertEqual(try await replica.snapshot().articleCount, 1)
        assertEqual(try await replica.search("B", limit: 10).count, 0, "deleted articles leave the index")
        assertEqual(try await replica.search("A2", limit: 10).map(\.summary.id), ["a"])
    }

    func testAReBootstrapFromAnotherStoreMayReuseRevisionNumbers() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: false)
        try await replica.applyBatch(
            [put("a", 1, Fixture.article(title: "A")), put("b", 2, Fixture.article(title: "B"))], upstreamStoreID: upstream, cursor: 2)
        let other = StoreID(bytes: [UInt8](repeating: 0xCD, count: 16))!
        try await replica.applyBatch(
            [put("b", 1, Fixture.article(title: "B")), .delete(id: "a", revision: 2)], upstreamStoreID: other, cursor: 2)
        assertEqual(try await replica.allIDs(), ["b"])
        assertEqual(try await replica.article(id: "b")?.revision, 1)
        assertEqual(try await replica.snapshot().digest, try await replica.recomputedDigest())
    }

    func testListIsNewestFirstAndFiltersByCategoryAndDate() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: false)
        try await replica.applyBatch(
            [
                put("d5", 1, Fixture.article(title: "Fünf", day: 5, category: "Sport")),
                put("d7", 2, Fixture.article(title: "Sieben", day: 7)),
                put("d6", 3, Fixture.article(title: "Sechs", day: 6)),
            ], upstreamStoreID: upstream, cursor: 3)
        assertEqual(try await replica.list(ListFilter()).map(\.id), ["d7", "d6", "d5"])
        assertEqual(try await replica.list(ListFilter(category: "Politik")).map(\.id), ["d7", "d6"])
        let from = PublicationTime(year: 2025, month: 4, day: 6, hour: 0, minute: 0)
        assertEqual(try await replica.list(ListFilter(from: from)).map(\.id), ["d7", "d6"])
        assertEqual(try await replica.list(ListFilter(to: from)).map(\.id), ["d5"])
        assertEqual(try await replica.list(ListFilter(limit: 1)).map(\.id), ["d7"])
        let first = try await replica.list(ListFilter(limit: 1))[0]
        XCTAssertEqual(first.title, "Sieben")
        XCTAssertEqual(first.published, PublicationTime(year: 2025, month: 4, day: 7, hour: 21, minute: 17))
    }

    func testGermanFullTextSearchFindsUmlautsAndSharpS() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: true)
        try await replica.applyBatch(
            [
                put("talks", 1, Fixture.article(title: "Gespräche in Istanbul", body: "Die diplomatische Präsenz wird gestärkt.")),
                put("street", 2, Fixture.article(title: "Verkehr", body: "Die Straße bleibt bis Montag gesperrt.")),
                put("other", 3, Fixture.article(title: "Wetter", body: "Sonne über ÖSTERREICH, Gespräche später.")),
            ], upstreamStoreID: upstream, cursor: 3)

        let talks = try await replica.search("Gespräche", limit: 10)
        XCTAssertEqual(talks.map(\.summary.id), ["talks", "other"], "a title match ranks first")
        XCTAssertGreaterThan(talks[0].rank, talks[1].rank)
        XCTAssertEqual(talks[0].snippet, "«Gespräche» in Istanbul")
        assertEqual(try await replica.search("präsenz", limit: 10).map(\.summary.id), ["talks"], "case-folded")
        assertEqual(try await replica.search("Prasenz", limit: 10).map(\.summary.id), ["talks"], "umlauts folded")
        assertEqual(try await replica.search("österreich", limit: 10).map(\.summary.id), ["other"])
        let street = try await replica.search("Straße", limit: 10)
        XCTAssertEqual(street.map(\.summary.id), ["street"])
        XCTAssertEqual(street.first?.snippet, "Die «Straße» bleibt bis Montag gesperrt.")
        assertEqual(try await replica.search("STRASSE", limit: 10).map(\.summary.id), ["street"], "ß is ss")
        assertEqual(try await replica.search("Gespr*", limit: 10).count, 2, "prefix")
        assertEqual(try await replica.search("Straße Montag", limit: 10).map(\.summary.id), ["street"], "all words")
        assertEqual(try await replica.search("Straße Istanbul", limit: 10).count, 0)
        assertEqual(try await replica.search("\"AND (", limit: 10).count, 0, "operators are taken literally")
    }

    func testTheSearchIndexIsBuiltWhenAMirrorBecomesAReadingReplica() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("r.sqlite")
        var replica: ReplicaStore? = try ReplicaStore(path: path, fullTextIndex: false)
        try await replica!.applyBatch([put("street", 1, Fixture.article(title: "Straße"))], upstreamStoreID: upstream, cursor: 1)
        do {
            _ = try await replica!.search("Straße", limit: 1)
            XCTFail("a mirror has no index")
        } catch {}
        try replica!.close()
        replica = try ReplicaStore(path: path, fullTextIndex: true)
        assertEqual(try await replica!.search("Straße", limit: 1).map(\.summary.id), ["street"])
        try replica!.close()
    }

    func testABootstrapWithTheIndexDeferredLeavesASearchableReplicaThatKeepsItsIndexAfterwards() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: true)
        try await replica.deferFullTextIndex()
        assertEqual(try await replica.isFullTextIndexPending(), true)
        try await replica.applyBatch(
            [
                put("talks", 1, Fixture.article(title: "Gespräche in Istanbul", body: "Die diplomatische Präsenz wird gestärkt.")),
                put("street", 2, Fixture.article(title: "Verkehr", body: "Die Straße bleibt bis Montag gesperrt.")),
                put("other", 3, Fixture.article(title: "Wetter", body: "Sonne über ÖSTERREICH, Gespräche später.")),
            ], upstreamStoreID: upstream, cursor: 3)
        let reports = Mutex<[Int]>([])
        try await replica.buildFullTextIndex { done, total in
            XCTAssertEqual(total, 3)
            reports.withLock { $0.append(done) }
        }
        assertEqual(try await replica.isFullTextIndexPending(), false)
        XCTAssertEqual(reports.withLock { $0 }.last, 3, "progress ends at every article")

        let talks = try await replica.search("Gespräche", limit: 10)
        XCTAssertEqual(talks.map(\.summary.id), ["talks", "other"], "a title match ranks first")
        XCTAssertEqual(talks.first?.snippet, "«Gespräche» in Istanbul")
        assertEqual(try await replica.search("Prasenz", limit: 10).map(\.summary.id), ["talks"])
        assertEqual(try await replica.search("Straße", limit: 10).first?.snippet, "Die «Straße» bleibt bis Montag gesperrt.")

        // After the bulk build, incremental batches keep the index in step row by row again.
        try await replica.applyBatch(
            [put("street", 4, Fixture.article(title: "Verkehr", body: "Die Brücke bleibt gesperrt.")), .delete(id: "other", revision: 5)],
            upstreamStoreID: upstream, cursor: 5)
        assertEqual(try await replica.isFullTextIndexPending(), false)
        assertEqual(try await replica.search("Straße", limit: 10).count, 0, "the old text left the index")
        assertEqual(try await replica.search("Brücke", limit: 10).map(\.summary.id), ["street"])
        assertEqual(try await replica.search("Gespräche", limit: 10).map(\.summary.id), ["talks"])
        try replica.close()
    }

    func testAReplicaKilledBetweenApplyAndIndexBuildIsIndexedWhenOpenedAgainAndSearched() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("r.sqlite")
        // What a bootstrap killed after its last batch and before the bulk build leaves on disk.
        let killed = try ReplicaStore(path: path, fullTextIndex: true)
        try await killed.deferFullTextIndex()
        try await killed.applyBatch(
            [put("street", 1, Fixture.article(title: "Straße")), put("talks", 2, Fixture.article(title: "Gespräche"))],
            upstreamStoreID: upstream, cursor: 2)
        try killed.close()

        let reopened = try ReplicaStore(path: path, fullTextIndex: true)
        assertEqual(try await reopened.isFullTextIndexPending(), true, "the flag survives the kill")
        assertEqual(try await reopened.search("Straße", limit: 10).map(\.summary.id), ["street"], "search builds the index first")
        assertEqual(try await reopened.isFullTextIndexPending(), false)
        try await reopened.applyBatch([put("bank", 3, Fixture.article(title: "Bankenaufsicht"))], upstreamStoreID: upstream, cursor: 3)
        assertEqual(try await reopened.search("Bankenaufsicht", limit: 10).map(\.summary.id), ["bank"])
        try reopened.close()

        // A mirror keeps no index, hence nothing pending, whatever the replica was before.
        let mirror = try ReplicaStore(path: path, fullTextIndex: false)
        assertEqual(try await mirror.isFullTextIndexPending(), false)
        try mirror.close()
    }

    func testDictionariesAreKeptOnlyUnderTheirOwnAdler32() async throws {
        let directory = try TemporaryDirectory()
        let replica = try ReplicaStore(path: directory.file("r.sqlite"), fullTextIndex: false)
        let bytes = Array("Gespräche über Banken".utf8)
        let id = ArticleCompression.id(ofDictionary: bytes)
        do {
            try await replica.saveDictionary(id: id &+ 1, bytes: bytes)
            XCTFail("a dictionary under a wrong id must be refused")
        } catch {}
        try await replica.saveDictionary(id: id, bytes: bytes)
        assertEqual(try await replica.dictionary(id: id), bytes)
    }
}
