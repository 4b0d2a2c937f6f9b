import ArticleModel
import ArticleStore
import Foundation
import XCTest

final class ImporterTests: XCTestCase {
    func testMessyFilesAreImportedAndExportedByteForByte() async throws {
        let directory = try TemporaryDirectory()
        let canonical = Fixture.source(title: "Sauber", body: "Absatz eins.\n\nAbsatz zwei.")
        let files: [String: [UInt8]] = [
            "seeds/2025/crlf.txt": Array(Fixture.source(title: "CRLF").replacingOccurrences(of: "\n", with: "\r\n").utf8),
            "seeds/2025/bom.txt": [0xEF, 0xBB, 0xBF] + Array(Fixture.source(title: "BOM").utf8),
            "seeds/spaces.txt": Array(Fixture.source(title: "Leerzeichen").replacingOccurrences(of: "\n", with: "  \t\n").utf8),
            "seeds/norepeat.txt": Array("Veröffentlichungsdatum: 01.02.2024 07:30 / Wirtschaft\n\nNur einmal\n\nText.".utf8),
            "seeds/newline.txt": Array((Fixture.source(title: "Zeilenende") + "\n").utf8),
            "seeds/canonical.txt": Array(canonical.utf8),
        ]
        for (path, bytes) in files { try directory.write(path, bytes) }
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        let report = try await store.importFiles([directory.file("seeds")])
        XCTAssertEqual(report.added, 6)
        XCTAssertEqual(report.refused, 0)
        XCTAssertEqual(report.head, 6)
        for (path, bytes) in files {
            let id = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let stored = try await store.article(id: id)
            XCTAssertEqual(stored?.article.source, bytes, "\(path) exports byte for byte")
            XCTAssertEqual(stored?.contentHash, StoreDigest.contentHash(of: bytes))
        }
        assertEqual(try await store.article(id: "norepeat")?.article.title, "Nur einmal")
        assertEqual(try await store.article(id: "norepeat")?.article.body, "Text.")
        assertEqual(try await store.snapshot().digest, try await store.recomputedDigest())

        // The canonical one travels without its source, the messy ones with it.
        for change in try await store.changes(after: 0, limit: 10, tombstonesAfter: .max).changes {
            guard case .article(let document) = change.kind else { continue }
            let raw = try await store.inflateDocument(document)
            XCTAssertEqual(raw[1] & ArticleDocument.hasSourceFlag != 0, change.id != "canonical", change.id)
        }
    }

    func testMalformedFilesAreRefusedWithPathLineAndReasonAndTheRestGoesOn() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("in/good.txt", Fixture.source(title: "Gut"))
        try directory.write("in/empty.txt", [])
        try directory.write("in/latin1.txt", [0x56, 0x65, 0x72, 0xF6, 0x66, 0x66] + Array("entlichungsdatum: 10.04.2025 21:17 / X\n\nT".utf8))
        try directory.write("in/nodate.txt", "Ein Titel\n\nEin Absatz.")
        try directory.write("in/baddate.txt", "Veröffentlichungsdatum: 30.02.2024 10:00 / Politik\n\nTitel")
        try directory.write("in/notitle.txt", "Veröffentlichungsdatum: 10.04.2025 10:00 / Politik\n\n")
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        let report = try await store.importFiles([directory.file("in"), directory.file("missing")])
        XCTAssertEqual(report.added, 1)
        XCTAssertEqual(report.refused, 6)
        let descriptions = Set(report.errors.map(\.description))
        XCTAssertEqual(
            descriptions,
            [
                "\(directory.file("in/baddate.txt")):1: invalid date '30.02.2024'",
                "\(directory.file("in/empty.txt")):1: the file is empty",
                "\(directory.file("in/latin1.txt")):1: not valid UTF-8",
                "\(directory.file("in/nodate.txt")):1: expected 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category'",
                "\(directory.file("in/notitle.txt")):2: no title after the date line",
                "\(directory.file("missing")): no such file or directory",
            ])
        assertEqual(try await store.allIDs(), ["good"], "refused files are imported not at all")
    }

    func testReimportIsIdempotentAndEditsAreUpdates() async throws {
        let directory = try TemporaryDirectory()
        for index in 0..<10 { try directory.write("in/a\(index).txt", Fixture.source(title: "Artikel \(index)")) }
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        let options = ImportOptions(chunkSize: 3)
        let progress = ProgressLog()
        var report = try await store.importFiles([directory.file("in")], options: options) { progress.append($0) }
        XCTAssertEqual(report.added, 10)
        XCTAssertEqual(progress.steps.map(\.files), [3, 6, 9, 10], "one step per committed chunk")
        let digest = try await store.snapshot().digestState

        report = try await store.importFiles([directory.file("in")], options: options)
        XCTAssertEqual(report.unchanged, 10)
        XCTAssertEqual(report.head, 10, "no revision taken")
        assertEqual(try await store.snapshot().digestState, digest)

        try directory.write("in/a3.txt", Fixture.source(title: "Artikel 3", body: "Geändert."))
        report = try await store.importFiles([directory.file("in")], options: options)
        XCTAssertEqual([report.added, report.updated, report.unchanged], [0, 1, 9])
        assertEqual(try await store.article(id: "a3")?.revision, 11)
        assertEqual(try await store.article(id: "a3")?.article.body, "Geändert.")
    }

    func testAnEditedFileIsStoredWithADeltaAgainstItsPreviousVersion() async throws {
        let directory = try TemporaryDirectory()
        let long = (1...12).map { "Absatz \($0): Die Gespräche über die diplomatische Präsenz in Istanbul gingen weiter." }
            .joined(separator: "\n\n")
        try directory.write("in/new.txt", Fixture.source(title: "Neu", body: long))
        try directory.write("in/edit.txt", Fixture.source(title: "Bearbeitet", body: long))
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        _ = try await store.importFiles([directory.file("in")])
        try directory.write("in/edit.txt", Fixture.source(title: "Bearbeitet", body: long + "\n\nEin neuer Absatz am Ende."))
        try directory.write("in/later.txt", Fixture.source(title: "Später", body: long))
        let report = try await store.importFiles([directory.file("in")])
        XCTAssertEqual([report.added, report.updated, report.unchanged], [1, 1, 1])

        let changes = try await store.changes(after: 2, limit: 10, tombstonesAfter: 0).changes
        let byID = Dictionary(uniqueKeysWithValues: changes.map { ($0.id, $0) })
        guard case .article(let edit)? = byID["edit"]?.kind, case .article(let later)? = byID["later"]?.kind else {
            return XCTFail("expected the edit and the new article: \(changes.map(\.id))")
        }
        // The importer let go of a new article's text before the write; an edit kept its document.
        XCTAssertNil(later.delta)
        let delta = try XCTUnwrap(edit.delta, "an edit is compressed against its previous version")
        let base = Array(Fixture.source(title: "Bearbeitet", body: long).utf8)
        let inflated = try ArticleCompression.inflateDelta(delta.compressed, documentLength: edit.documentLength, baseSource: base)
        XCTAssertEqual(try ArticleDocument.decode(inflated).title, "Bearbeitet")
        let laterDocument = try await store.inflateDocument(later)
        XCTAssertEqual(try ArticleDocument.decode(laterDocument).title, "Später")
    }

    func testDeleteMissingTurnsVanishedFilesIntoTombstones() async throws {
        let directory = try TemporaryDirectory()
        for index in 0..<4 { try directory.write("in/a\(index).txt", Fixture.source(title: "Artikel \(index)")) }
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        _ = try await store.importFiles([directory.file("in")])
        try FileManager.default.removeItem(atPath: directory.file("in/a1.txt"))

        var report = try await store.importFiles([directory.file("in")])
        XCTAssertEqual(report.deleted, 0, "without --delete-missing nothing goes")
        report = try await store.importFiles([directory.file("in"), directory.file("gone")], options: ImportOptions(deleteMissing: true))
        XCTAssertEqual(report.deleted, 0, "a path that could not be read stops the deletion")
        XCTAssertNotNil(report.deletionSkipped)

        // One of four is more than the guard's default 10%: allowed up to a quarter here.
        report = try await store.importFiles([directory.file("in")], options: ImportOptions(deleteMissing: true, maxDeleteFraction: 0.25))
        XCTAssertEqual(report.deleted, 1)
        XCTAssertEqual(report.head, 5)
        assertEqual(try await store.allIDs(), ["a0", "a2", "a3"])
        assertEqual(try await store.changes(after: 4, limit: 10, tombstonesAfter: 0).changes.map(\.kind), [.tombstone])
    }

    func testTwoFilesWithOneIDAreNotBothImported() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("in/a/same.txt", Fixture.source(title: "Erster"))
        try directory.write("in/b/same.txt", Fixture.source(title: "Zweiter"))
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        let report = try await store.importFiles([directory.file("in")])
        XCTAssertEqual(report.added, 1)
        XCTAssertEqual(report.refused, 1)
        XCTAssertEqual(
            report.errors.first?.description,
            "\(directory.file("in/b/same.txt")): the id 'same' is already taken by \(directory.file("in/a/same.txt"))")
        assertEqual(try await store.article(id: "same")?.article.title, "Erster", "sorted order decides")
    }

    /// A dry run plans what the import does: two files with one id refused as the import refuses
    /// them, NFC and NFD ids kept apart, vanished articles listed by id; the store's file keeps
    /// every byte.
    func testAnImportsPlanRefusesRepeatedIDsListsDeletionsAndLeavesTheStoreAsItWas() async throws {
        let directory = try TemporaryDirectory()
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        try directory.write("in/\(nfc).txt", Fixture.source(title: "NFC"))
        try directory.write("in/kept.txt", Fixture.source(title: "Bleibt"))
        try directory.write("in/gone.txt", Fixture.source(title: "Weg"))
        let path = directory.file("s.sqlite")
        let store = try SQLiteCanonicalStore(path: path)
        _ = try await store.importFiles([directory.file("in")])
        try store.close()
        try FileManager.default.removeItem(atPath: directory.file("in/gone.txt"))
        try FileManager.default.removeItem(atPath: directory.file("in/\(nfc).txt"))
        try directory.write("in/\(nfd).txt", Fixture.source(title: "NFD"))
        try directory.write("in/a/same.txt", Fixture.source(title: "Erster"))
        try directory.write("in/b/same.txt", Fixture.source(title: "Zweiter"))
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        let plan = try Importer.plan(storeAt: path, paths: [directory.file("in")], options: ImportOptions(deleteMissing: true, force: true))
        XCTAssertEqual(plan.items.map { "\($0.kind) \($0.id)" }, ["added same", "added \(nfd)", "deleted \(nfc)", "deleted gone"])
        XCTAssertEqual(plan.unchanged, 1)
        XCTAssertEqual(
            plan.errors.map(\.description), ["\(directory.file("in/b/same.txt")): the id 'same' is already taken by \(directory.file("in/a/same.txt"))"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
    }

    func testTheFirstLargeImportBuildsTheStoreDictionary() async throws {
        let directory = try TemporaryDirectory()
        let prose = "Die Bundesregierung hat am Donnerstag in Berlin neue Gespräche über die Zukunft der Energieversorgung angekündigt."
        for index in 0..<60 {
            try directory.write("in/a\(index).txt", Fixture.source(title: "Meldung \(index)", body: "\(prose) Nummer \(index * 7919)."))
        }
        let store = try SQLiteCanonicalStore(path: directory.file("s.sqlite"))
        let report = try await store.importFiles([directory.file("in")], options: ImportOptions(dictionaryThreshold: 50))
        let dictionaryID = try XCTUnwrap(report.builtDictionaryID)
        assertEqual(try await store.currentDictionaryID(), dictionaryID)
        let changes = try await store.changes(after: 0, limit: 100, tombstonesAfter: .max).changes
        XCTAssertEqual(changes.count, 60)
        for change in changes {
            guard case .article(let document) = change.kind else { return XCTFail("no tombstones expected") }
            XCTAssertEqual(ArticleCompression.dictionaryID(of: document.compressed), dictionaryID)
        }
        assertEqual(try await store.article(id: "a42")?.article.body, "\(prose) Nummer \(42 * 7919).")
    }
}

final class ProgressLog: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var storage: [ImportProgress] = []

    func append(_ step: ImportProgress) { lock.withLock { storage.append(step) } }
    var steps: [ImportProgress] { lock.withLock { storage } }
}
