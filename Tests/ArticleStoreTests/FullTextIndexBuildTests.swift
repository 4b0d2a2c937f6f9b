import ArticleModel
@testable import ArticleStore
import Foundation
import GRDB
import Synchronization
import XCTest

/// A reading replica's index built in bulk on two connections (ReplicaStore+IndexBuild) answers
/// exactly as one kept row by row.
final class FullTextIndexBuildTests: XCTestCase {
    let upstream = StoreID(bytes: [UInt8](repeating: 0xCD, count: 16))!
    static let words = [
        "Straße", "Gespräche", "Regierung", "Größe", "Müller", "Brücke", "Wetter", "Berlin", "Hamburg", "Zinsen",
        "Café", "Polizei", "Feuerwehr", "Bundestag", "Hoffnung", "Fußball", "Österreich", "Wirtschaft", "die", "und",
    ]

    /// Words vary by row so that terms land in both halves with different frequencies (bm25 reads the merged counts). A few are
    /// large (the writer indexes those alone).
    static func articles(_ count: Int) -> [(String, Article)] {
        (0..<count).map { index in
            var body = (0..<(12 + index % 17)).map { words[(index * 7 + $0 * $0) % words.count] }.joined(separator: " ")
            if index % 1_500 == 10 { body += String(repeating: " Seilbahnbetrieb \(index) und die Brücke", count: 9_000) }
            let title = "\(words[index % words.count]) \(index)"
            return (String(format: "a%05d", index), Fixture.article(title: title, body: body + ". Zeile \(index)."))
        }
    }

    /// A reading replica holding `articles`, its index pending the bulk build.
    func pendingReplica(at path: String, _ articles: [(String, Article)]) async throws -> ReplicaStore {
        let replica = try ReplicaStore(path: path, fullTextIndex: true)
        try await replica.deferFullTextIndexToBulkBuild()
        try await fill(replica, articles)
        return replica
    }

    func fill(_ replica: ReplicaStore, _ articles: [(String, Article)]) async throws {
        var revision: UInt64 = 0
        for chunk in stride(from: 0, to: articles.count, by: 500) {
            let changes = articles[chunk..<min(chunk + 500, articles.count)].map { id, article -> ReplicaChange in
                revision += 1
                return .put(id: id, revision: revision, article: article, contentHash: StoreDigest.contentHash(of: article.source))
            }
            try await replica.applyBatch(changes, upstreamStoreID: upstream, cursor: revision)
        }
    }

    func testAnIndexBuiltOnTwoConnectionsRanksAndQuotesAsOneKeptRowByRow() async throws {
        let directory = try TemporaryDirectory()
        let articles = Self.articles(4_600)
        let rowByRow = try ReplicaStore(path: directory.file("rows.sqlite"), fullTextIndex: true)
        try await fill(rowByRow, articles)

        let path = directory.file("bulk.sqlite")
        let bulk = try await pendingReplica(at: path, articles)
        assertEqual(try await bulk.isFullTextIndexPending(), true)
        assertEqual(try await bulk.rebuildOnTwoConnections(minimumRows: 1_000) { _, _ in }, true, "the scratch index was moved in")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".fts-build"), "the scratch file is removed")
        assertEqual(try await bulk.fullTextIndexProblems(), nil)
        try await bulk.buildFullTextIndex()
        assertEqual(try await bulk.isFullTextIndexPending(), false)
        assertEqual(try await bulk.fullTextIndexProblems(), nil)
        let segments = try await bulk.file.pool.read { try FullTextIndexMerge.structure($0, schema: "main")?.segmentCount }
        XCTAssertEqual(segments, 2, "each connection merged its own part")

        for query in ["Seilbahnbetrieb", "\"Seilbahnbetrieb 1510\"", "Straße", "strasse", "Groesse", "Mueller", "\"Gespräche Regierung\"", "Bund*", "Polizei OR Feuerwehr", "Berlin NOT Wetter", "Zeile", "4599", "0", "cafe"] {
            let expected = try await rowByRow.search(query, limit: 50)
            let actual = try await bulk.search(query, limit: 50)
            XCTAssertFalse(expected.isEmpty, query)
            XCTAssertEqual(actual.map(\.summary.id), expected.map(\.summary.id), query)
            XCTAssertEqual(actual.map(\.snippet), expected.map(\.snippet), query)
        }

        // Afterwards the triggers keep it row by row.
        let edited = Fixture.article(title: "Neu", body: "Eine Seilbahn.")
        try await bulk.applyBatch(
            [
                .delete(id: "a04599", revision: 4_601),
                .put(id: "a00000", revision: 4_602, article: edited, contentHash: StoreDigest.contentHash(of: edited.source)),
            ],
            upstreamStoreID: upstream, cursor: 4_602)
        assertEqual(try await bulk.search("4599", limit: 10).count, 0)
        assertEqual(try await bulk.search("Seilbahn", limit: 10).map(\.summary.id), ["a00000"])
        assertEqual(try await bulk.fullTextIndexProblems(), nil)
        try rowByRow.close()
        try bulk.close()
    }

    /// A pull's build shares a large index with a second connection, each half in one statement:
    /// two segments, every row reported once, in order, whichever connection indexed it.
    func testAPullsBuildOfManyRowsTakesTwoConnectionsAndReportsEveryRowOnceInOrder() async throws {
        let directory = try TemporaryDirectory()
        let total = ReplicaStore.twoConnectionBuildRows + 300
        let quarters = ["Nord", "Süd", "Ost", "West", "Mitte", "Hafen", "Markt"]
        let articles = (0..<total).map { index in
            (String(format: "b%05d", index), Fixture.article(title: "Titel \(index)", body: "Die Brücke nummer\(index) und die Straße \(quarters[index % 7])."))
        }
        let bulk = try await pendingReplica(at: directory.file("bulk.sqlite"), articles)
        let reports = Mutex<[Int]>([])
        try await bulk.buildFullTextIndex { done, reported in
            XCTAssertEqual(reported, total)
            reports.withLock { $0.append(done) }
        }
        let expected = [0] + Array(stride(from: 1_000, through: total, by: 1_000)) + [total, total]
        XCTAssertEqual(reports.withLock { $0 }, expected)
        let segments = try await bulk.file.pool.read { try FullTextIndexMerge.structure($0, schema: "main")?.segmentCount }
        XCTAssertEqual(segments, 2, "one segment from each connection")
        assertEqual(try await bulk.isFullTextIndexPending(), false)
        assertEqual(try await bulk.fullTextIndexProblems(), nil)
        for index in [0, total / 2 - 1, total / 2, total - 1] {
            assertEqual(try await bulk.search("nummer\(index)", limit: 10).map(\.summary.id), [String(format: "b%05d", index)])
        }
        assertEqual(try await bulk.search("\"Straße Hafen\"", limit: total).count, (0..<total).count { $0 % 7 == 5 })
        try bulk.close()
    }

    struct SideFailed: Error {}

    /// When the second connection fails (after indexing its whole half into the scratch file), the
    /// writer indexes that half itself: the index is complete and whole, nothing of the scratch
    /// file is moved in, and progress goes back to what the writer holds and on to the total.
    func testWhenTheSecondConnectionFailsTheWriterIndexesItsHalfAndProgressTellsSo() async throws {
        let directory = try TemporaryDirectory()
        let total = ReplicaStore.twoConnectionBuildRows + 300
        let articles = (0..<total).map { index in
            (String(format: "c%05d", index), Fixture.article(title: "Titel \(index)", body: "Die Brücke nummer\(index) und die Straße."))
        }
        let path = directory.file("bulk.sqlite")
        let bulk = try await pendingReplica(at: path, articles)
        let sideRows = Mutex(0)
        let reports = Mutex<[Int]>([])
        let moved = try await bulk.rebuildOnTwoConnections(
            indexSide: { side, split, progress in
                sideRows.withLock { $0 = 0 }
                let indexed = try side.index(from: split, progress: progress)
                sideRows.withLock { $0 = indexed }
                throw SideFailed()
            },
            progress: { done, reported in
                XCTAssertEqual(reported, total)
                reports.withLock { $0.append(done) }
            })
        XCTAssertFalse(moved, "nothing was moved in from the scratch file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".fts-build"), "the scratch file is removed")
        let side = sideRows.withLock { $0 }
        XCTAssertGreaterThan(side, total / 3, "the side had indexed its half before it failed")

        // Up to the total once (both halves counted), back to the writer's own half, then up again.
        let seen = reports.withLock { $0 }
        XCTAssertEqual(seen.first, 0)
        XCTAssertEqual(seen.last, total)
        let back = try XCTUnwrap(seen.indices.dropFirst().first { seen[$0] < seen[$0 - 1] }, "progress went back")
        XCTAssertEqual(seen[back], total - side, "back to the rows the writer had indexed")
        XCTAssertEqual(Array(seen[..<back]), Array(seen[..<back]).sorted())
        XCTAssertEqual(Array(seen[back...]), Array(seen[back...]).sorted())

        try await bulk.buildFullTextIndex()
        assertEqual(try await bulk.isFullTextIndexPending(), false)
        assertEqual(try await bulk.fullTextIndexProblems(), nil)
        let indexed = try await bulk.file.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM article_fts_docsize") }
        XCTAssertEqual(indexed, total, "every row once")
        for index in [0, total / 2 - 1, total / 2, total - 1] {
            assertEqual(try await bulk.search("nummer\(index)", limit: 10).map(\.summary.id), [String(format: "c%05d", index)])
        }
        assertEqual(try await bulk.search("\"Brücke nummer7\"", limit: 10).map(\.summary.id), ["c00007"])
        try bulk.close()
    }

    /// A build's other connection ends its statement as soon as one connection fails.
    func testAStoppedBuildFailsTheStatementsStillCounting() throws {
        let queue = try DatabaseQueue()
        let rows = IndexProgress(total: 3) { _, _ in }
        let counted = try queue.inDatabase { db in
            try rows.counting(on: db) { try Int.fetchOne(db, sql: "SELECT count(*) FROM (VALUES (1), (2), (3)) WHERE index_build_row()") }
        }
        XCTAssertEqual(counted, 3)
        rows.stop()
        XCTAssertThrowsError(
            try queue.inDatabase { db in
                try rows.counting(on: db) { try Int.fetchOne(db, sql: "SELECT count(*) FROM (VALUES (1)) WHERE index_build_row()") }
            })
    }

    /// FTS5 writes a segment at every statement's savepoint: the rebuild is one statement, so the
    /// index it leaves (before the final merge) has a segment per filled hash, not one per range.
    func testABulkRebuildIsOneSegmentWhileTheHashHoldsItAndReportsProgressPerThousandRows() async throws {
        let directory = try TemporaryDirectory()
        let bulk = try await pendingReplica(at: directory.file("bulk.sqlite"), Self.articles(4_200))
        let reports = Mutex<[Int]>([])
        let segments = try await bulk.file.pool.write { db in
            try ReplicaStore.rebuildFullTextIndex(db, total: 4_200) { done, total in
                XCTAssertEqual(total, 4_200)
                reports.withLock { $0.append(done) }
            }
            return try FullTextIndexMerge.structure(db, schema: "main")?.segmentCount
        }
        XCTAssertEqual(segments, 1)
        XCTAssertEqual(reports.withLock { $0 }, [0, 1_000, 2_000, 3_000, 4_000, 4_200])
        try await bulk.buildFullTextIndex()
        assertEqual(try await bulk.fullTextIndexProblems(), nil)
        assertEqual(try await bulk.search("4199", limit: 10).map(\.summary.id), ["a04199"])
        try bulk.close()
    }

    /// The larger hash only where its memory buys fewer merge levels, and FTS5's own once built.
    func testOnlyALargeRebuildCollectsInTheLargerHashAndTheBuildSetsFTS5sBack() async throws {
        let directory = try TemporaryDirectory()
        let bulk = try await pendingReplica(at: directory.file("bulk.sqlite"), Self.articles(600))
        let sizes = try await bulk.file.pool.write { db -> [Int?] in
            try [600, ReplicaStore.largeBuildRows].map { total in
                try ReplicaStore.rebuildFullTextIndex(db, total: total) { _, _ in }
                return try Int.fetchOne(db, sql: "SELECT v FROM article_fts_config WHERE k = 'hashsize'")
            }
        }
        XCTAssertEqual(sizes, [ReplicaStore.bulkBuildHashSize, ReplicaStore.largeBuildHashSize])
        XCTAssertLessThan(ReplicaStore.bulkBuildHashSize, ReplicaStore.largeBuildHashSize)
        try await bulk.buildFullTextIndex()
        let after = try await bulk.file.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT v FROM article_fts_config WHERE k = 'hashsize'")
        }
        XCTAssertEqual(after, ReplicaStore.ftsHashSize)
        assertEqual(try await bulk.search("599", limit: 10).map(\.summary.id), ["a00599"])
        try bulk.close()
    }

    func testABuildThatFindsTheScratchFileClaimedBuildsTheIndexOnOneConnection() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bulk.sqlite")
        let bulk = try await pendingReplica(at: path, Self.articles(4_200))
        // A second build holding the scratch file makes this one take the one-connection way.
        let other = try XCTUnwrap(ScratchClaim(path: path + ".fts-build"))
        assertEqual(try await bulk.rebuildOnTwoConnections(minimumRows: 1_000) { _, _ in }, false)
        other.release()
        assertEqual(try await bulk.isFullTextIndexPending(), true)
        try await bulk.buildFullTextIndex()
        assertEqual(try await bulk.isFullTextIndexPending(), false)
        assertEqual(try await bulk.fullTextIndexProblems(), nil)
        assertEqual(try await bulk.search("a04199", limit: 10).count, 0)
        assertEqual(try await bulk.search("4199", limit: 10).map(\.summary.id), ["a04199"])
        try bulk.close()
    }

    func testTheStructureRecordRoundTripsAndMergesUnderFreeSegmentIDs() throws {
        let target = FullTextIndexMerge.Structure(
            cookie: 7, writeCounter: 300,
            levels: [
                .init(merging: 0, segments: [.init(id: 1, firstPage: 1, lastPage: 9), .init(id: 3, firstPage: 1, lastPage: 200)]),
                .init(merging: 0, segments: [.init(id: 2, firstPage: 1, lastPage: 70_000)]),
            ])
        XCTAssertEqual(FullTextIndexMerge.Structure(target.bytes), target)
        let incoming = FullTextIndexMerge.Structure(
            cookie: 1, writeCounter: 20,
            levels: [.init(merging: 0, segments: []), .init(merging: 0, segments: []), .init(merging: 0, segments: [.init(id: 1, firstPage: 1, lastPage: 5)])])
        let merged = target.adding(incoming, renumbered: [1: 4])
        XCTAssertEqual(merged.cookie, 8)
        XCTAssertEqual(merged.writeCounter, 320)
        XCTAssertEqual(merged.levels.map { $0.segments.map(\.id) }, [[1, 3], [2], [4]])
        XCTAssertEqual(FullTextIndexMerge.Structure(merged.bytes), merged)
        XCTAssertNil(FullTextIndexMerge.Structure([0, 0, 0, 1, 0xFF, 0x00, 0x00, 0x01, 0]), "a newer format is refused")
        XCTAssertNil(FullTextIndexMerge.Structure(Array(target.bytes.dropLast())), "a truncated record is refused")
        for value: UInt64 in [0, 127, 128, 16_383, 16_384, 1 << 40, UInt64.max] {
            var bytes: [UInt8] = []
            Varint.append(value, to: &bytes)
            var reader = VarintReader(bytes: bytes, offset: 0)
            XCTAssertEqual(reader.next(), value)
            XCTAssertEqual(reader.offset, bytes.count)
        }
    }
}
