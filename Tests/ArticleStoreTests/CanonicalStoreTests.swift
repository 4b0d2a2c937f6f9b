import ArticleModel
import ArticleStore
import Foundation
import XCTest

final class CanonicalStoreTests: XCTestCase {
    func testEveryChangeTakesTheNextRevisionAndUnchangedContentTakesNone() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        assertEqual(try await store.snapshot().head, 0)
        XCTAssertEqual(store.storeID.bytes.count, 16)

        let a = Fixture.article(title: "Erster Artikel")
        let b = Fixture.article(title: "Zweiter Artikel")
        var (head, outcomes) = try await store.apply([Fixture.put("a", a), Fixture.put("b", b)])
        XCTAssertEqual(head, 2)
        XCTAssertEqual(outcomes, [.init(status: .applied, revision: 1), .init(status: .applied, revision: 2)])

        (head, outcomes) = try await store.apply([Fixture.put("a", a)])
        XCTAssertEqual(head, 2, "an unchanged put takes no revision")
        XCTAssertEqual(outcomes, [.init(status: .unchanged, revision: 1)])

        (head, outcomes) = try await store.apply([Fixture.put("a", Fixture.article(title: "Erster Artikel, neu"), expected: 1)])
        XCTAssertEqual(outcomes, [.init(status: .applied, revision: 3)])
        assertEqual(try await store.article(id: "a")?.revision, 3)
        assertEqual(try await store.article(id: "a")?.article.title, "Erster Artikel, neu")
        assertEqual(try await store.snapshot().articleCount, 2)
    }

    func testExpectedRevisionsAreCheckedAndDeletesOfMissingArticlesAreNotFound() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        _ = try await store.apply([Fixture.put("a", Fixture.article(title: "A"), expected: 0)])
        let (head, outcomes) = try await store.apply([
            Fixture.put("a", Fixture.article(title: "A2"), expected: 0),
            Fixture.put("b", Fixture.article(title: "B"), expected: 7),
            Fixture.delete("nope"),
            Fixture.delete("a", expected: 2),
            Fixture.delete("a", expected: 1),
        ])
        XCTAssertEqual(
            outcomes,
            [
                .init(status: .conflict, revision: 1), .init(status: .conflict, revision: 0), .init(status: .notFound, revision: 0),
                .init(status: .conflict, revision: 1), .init(status: .applied, revision: 2),
            ])
        XCTAssertEqual(head, 2)
        assertNil(try await store.article(id: "a"))
    }

    func testDeletionsAreTombstonesServedInRevisionOrderUntilPurged() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        _ = try await store.apply([
            Fixture.put("a", Fixture.article(title: "A")), Fixture.put("b", Fixture.article(title: "B")),
            Fixture.put("c", Fixture.article(title: "C")),
        ])
        _ = try await store.apply([Fixture.delete("b")])  // revision 4
        _ = try await store.apply([Fixture.put("a", Fixture.article(title: "A2"))])  // revision 5

        let all = try await store.changes(after: 0, limit: 100, tombstonesAfter: 0).changes
        XCTAssertEqual(all.map(\.id), ["c", "b", "a"])
        XCTAssertEqual(all.map(\.revision), [3, 4, 5])
        XCTAssertEqual(all[1].kind, .tombstone)
        assertEqual(try await store.changes(after: 0, limit: 100, tombstonesAfter: .max).changes.map(\.id), ["c", "a"])
        assertEqual(try await store.changes(after: 3, limit: 1, tombstonesAfter: 0).changes.map(\.id), ["b"])

        assertEqual(try await store.purgeTombstones(upTo: 4), 1)
        assertEqual(try await store.snapshot().horizon, 4)
        assertEqual(try await store.changes(after: 0, limit: 100, tombstonesAfter: 0).changes.map(\.id), ["c", "a"])
        assertNil(try await store.digest(at: 3).digest, "below the horizon")
        assertNotNil(try await store.digest(at: 4).digest)
        assertEqual(try await store.purgeTombstones(upTo: 2), 0, "the horizon never goes down")
        assertEqual(try await store.snapshot().horizon, 4)

        // A deleted id can come back; it is live again with a new revision.
        _ = try await store.apply([Fixture.put("b", Fixture.article(title: "B wieder da"))])
        assertEqual(try await store.article(id: "b")?.revision, 6)
    }

    func testAReadOfChangesCarriesTheSnapshotOfItsOwnTransaction() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        _ = try await store.apply([
            Fixture.put("a", Fixture.article(title: "A")), Fixture.put("b", Fixture.article(title: "B")),
            Fixture.put("c", Fixture.article(title: "C")),
        ])
        // A bootstrap that began at head 3 owes the tombstones written after it, not the older ones.
        _ = try await store.apply([Fixture.delete("c")])  // revision 4
        let bootstrapStart: UInt64 = 4
        _ = try await store.apply([Fixture.delete("a"), Fixture.put("d", Fixture.article(title: "D"))])  // 5, 6
        let page = try await store.changes(after: 1, limit: 100, tombstonesAfter: bootstrapStart)
        XCTAssertEqual(page.changes.map(\.id), ["b", "a", "d"])
        XCTAssertEqual(page.changes[1].kind, .tombstone)
        assertEqual(page.snapshot, try await store.snapshot())
        XCTAssertEqual(page.snapshot.head, 6)
        XCTAssertEqual(page.snapshot.horizon, 0)
        XCTAssertEqual(page.snapshot.articleCount, 2)

        // After a purge the same read says so itself: tombstones up to the horizon are gone.
        try await store.purgeTombstones(upTo: 5)
        let purged = try await store.changes(after: 1, limit: 100, tombstonesAfter: bootstrapStart)
        XCTAssertEqual(purged.changes.map(\.id), ["b", "d"])
        XCTAssertEqual(purged.snapshot.horizon, 5)
        XCTAssertGreaterThan(purged.snapshot.horizon, max(1, bootstrapStart), "the reader can tell a deletion it owed is lost")
    }

    func testAWriteOverADocumentLimitIsInvalidAloneAndTheOthersApply() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        _ = try await store.apply([Fixture.put("a", Fixture.article(title: "A"))])
        let oversize = Fixture.article(title: String(repeating: "Überlänge ", count: 7_000))
        let (head, outcomes) = try await store.apply([
            Fixture.put("a", oversize), Fixture.put("b", Fixture.article(title: "B")),
            Fixture.put("c", Fixture.article(title: "C", category: String(repeating: "x", count: 65_536))),
            Fixture.put("bad/id", Fixture.article(title: "D")),
        ])
        XCTAssertEqual(head, 2)
        XCTAssertEqual(outcomes.count, 4)
        guard case .invalid(let reason) = outcomes[0].status else { return XCTFail("\(outcomes[0])") }
        XCTAssertTrue(reason.contains("title or category exceeds"), reason)
        XCTAssertEqual(outcomes[0].revision, 1, "the article's current revision")
        XCTAssertEqual(outcomes[1], .init(status: .applied, revision: 2))
        guard case .invalid = outcomes[2].status, case .invalid = outcomes[3].status else { return XCTFail("\(outcomes)") }
        assertEqual(try await store.article(id: "a")?.article.title, "A")
        assertEqual(try await store.snapshot().digest, try await store.recomputedDigest())
    }

    func testDigestHistoryDescribesEveryRevisionFromHorizonToHead() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        var expected: [DigestState] = [try await store.snapshot().digestState]
        XCTAssertEqual(expected[0].digest, SHA256Hash.zero)
        for write in [
            Fixture.put("a", Fixture.article(title: "A")), Fixture.put("b", Fixture.article(title: "B")),
            Fixture.delete("a"), Fixture.put("b", Fixture.article(title: "B2")),
        ] {
            _ = try await store.apply([write])
            let now = try await store.snapshot().digestState
            assertEqual(now.digest, try await store.recomputedDigest(), "running digest = digest from scratch")
            expected.append(now)
        }
        for state in expected {
            assertEqual(try await store.digest(at: state.revision).digest, state)
        }
        assertNil(try await store.digest(at: 5).digest, "above the head")
        XCTAssertEqual(expected.map(\.articleCount), [0, 1, 2, 1, 1])
    }

    func testTheDigestIsTheSpecifiedSumOfHashes() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        let article = Fixture.article(title: "A")
        _ = try await store.apply([Fixture.put("id1", article)])
        // SHA-256(0x03 || "id1" || SHA-256(source)), computed independently.
        let hash = StoreDigest.contentHash(of: article.source)
        let element = StoreDigest.contentHash(of: [3] + Array("id1".utf8) + hash)
        assertEqual(try await store.snapshot().digest.bytes, element)

        // Addition is mod 2^256: x + (2^256 - x) = 0.
        var sum = StoreDigest(bytes: [UInt8](repeating: 0xFF, count: 32))!
        sum.add(StoreDigest(bytes: [UInt8](repeating: 0, count: 31) + [1])!)
        XCTAssertEqual(sum, .zero)
        sum.subtract(StoreDigest(bytes: [UInt8](repeating: 0, count: 31) + [1])!)
        XCTAssertEqual(sum.bytes, [UInt8](repeating: 0xFF, count: 32))
    }

    func testStoresWithTheSameArticlesReachedInDifferentOrdersHaveEqualDigests() async throws {
        let directory = try TemporaryDirectory()
        let first = try SQLiteCanonicalStore(path: directory.file("one.sqlite"))
        let second = try SQLiteCanonicalStore(path: directory.file("two.sqlite"))
        _ = try await first.apply([
            Fixture.put("a", Fixture.article(title: "A")), Fixture.put("b", Fixture.article(title: "B")),
            Fixture.put("c", Fixture.article(title: "C")),
        ])
        _ = try await first.apply([Fixture.delete("b"), Fixture.put("a", Fixture.article(title: "A2"))])
        _ = try await second.apply([Fixture.put("c", Fixture.article(title: "C"))])
        _ = try await second.apply([Fixture.put("a", Fixture.article(title: "A0"))])
        _ = try await second.apply([Fixture.put("a", Fixture.article(title: "A2"))])
        let firstDigest = try await first.snapshot().digestState
        let secondDigest = try await second.snapshot().digestState
        XCTAssertEqual(firstDigest.digest, secondDigest.digest)
        XCTAssertEqual(firstDigest.articleCount, 2)
        XCTAssertEqual(secondDigest.articleCount, 2)
        XCTAssertNotEqual(firstDigest.revision, secondDigest.revision)
        XCTAssertNotEqual(first.storeID, second.storeID)
    }

    func testDocumentsAreCompressedOnceWithTheStoreDictionaryAndEditsCarryADelta() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        let long = (1...12).map { "Absatz \($0): Die Gespräche über die diplomatische Präsenz in Istanbul gingen weiter." }
            .joined(separator: "\n\n")
        _ = try await store.apply([Fixture.put("plain", Fixture.article(title: "Ohne Wörterbuch", body: long))])
        let dictionary = Array(long.utf8)
        let dictionaryID = try await store.installDictionary(dictionary)
        assertEqual(try await store.dictionary(id: dictionaryID), dictionary)
        assertEqual(try await store.currentDictionaryID(), dictionaryID)
        _ = try await store.apply([Fixture.put("a", Fixture.article(title: "Mit Wörterbuch", body: long))])
        let edited = Fixture.article(title: "Mit Wörterbuch", body: long + "\n\nEin neuer Absatz am Ende.")
        _ = try await store.apply([Fixture.put("a", edited)])

        let changes = try await store.changes(after: 0, limit: 10, tombstonesAfter: 0).changes
        guard case .article(let plain) = changes[0].kind, case .article(let document) = changes[1].kind else {
            return XCTFail("expected two articles")
        }
        XCTAssertNil(ArticleCompression.dictionaryID(of: plain.compressed), "written before any dictionary")
        XCTAssertNil(plain.delta)
        XCTAssertEqual(ArticleCompression.dictionaryID(of: document.compressed), dictionaryID)
        assertEqual(try ArticleDocument.decode(try await store.inflateDocument(document)), edited)

        let delta = try XCTUnwrap(document.delta)
        XCTAssertEqual(delta.baseRevision, 2)
        XCTAssertEqual(delta.baseHash, StoreDigest.contentHash(of: Fixture.article(title: "Mit Wörterbuch", body: long).source))
        XCTAssertLessThan(delta.compressed.count, document.compressed.count)
        let base = Fixture.article(title: "Mit Wörterbuch", body: long).source
        let inflated = try ArticleCompression.inflateDelta(delta.compressed, documentLength: document.documentLength, baseSource: base)
        XCTAssertEqual(try ArticleDocument.decode(inflated), edited)
    }

    func testReopeningKeepsIdentityAndRefusesTheOtherRole() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s.sqlite")
        var store: SQLiteCanonicalStore? = try SQLiteCanonicalStore(path: path)
        let id = store!.storeID
        _ = try await store!.apply([Fixture.put("a", Fixture.article(title: "A"))])
        try store!.close()
        store = try SQLiteCanonicalStore(path: path)
        XCTAssertEqual(store!.storeID, id)
        assertEqual(try await store!.snapshot().head, 1)
        try store!.close()
        XCTAssertThrowsError(try ReplicaStore(path: path, fullTextIndex: false)) { error in
            XCTAssertTrue("\(error)".contains("is a canonical store"), "\(error)")
        }
    }
}
