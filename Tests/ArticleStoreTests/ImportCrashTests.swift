import ArticleModel
import ArticleStore
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real `articlesyncd import` child process is killed with SIGKILL mid-import; the store must
/// open, pass `PRAGMA integrity_check`, and hold each file's change entirely or not at all.
///
/// The binary is the `articlesyncd` built beside this test bundle (`swift build --build-tests`
/// builds both); its `--progress` flag prints a line after each committed chunk, which is the
/// event the test waits for before killing.
final class ImportCrashTests: XCTestCase {
    func testKillingAnImportMidwayLeavesAConsistentStoreThatResumes() async throws {
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("articlesyncd").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            return XCTFail("\(binary) is missing: build it with `swift build --build-tests` before running this test")
        }
        let directory = try TemporaryDirectory()
        let total = 3_000
        var generator = Words(seed: 42)
        for index in 0..<total {
            let body = (0..<4).map { _ in generator.sentence(words: 40) }.joined(separator: "\n\n")
            try directory.write(
                "in/\(index / 500)/a\(index).txt", Fixture.source(title: "Meldung \(index)", body: body, day: 1 + index % 28))
        }
        let storePath = directory.file("s.sqlite")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["import", "--store", storePath, "--progress", directory.file("in")]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // A watchdog, not a wait: if no progress line ever comes, the child is stopped.
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        defer {
            watchdog.cancel()
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }

        var output = ""
        while !output.contains("progress: ") {
            let data = stderr.fileHandleForReading.availableData
            if data.isEmpty { break }
            output += String(decoding: data, as: UTF8.self)
        }
        kill(pid, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(output.contains("progress: "), "the import printed no progress before ending: \(output)")
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the child was killed, it did not finish")

        let store = try SQLiteCanonicalStore(path: storePath)
        assertEqual(try await store.integrityCheck(), "ok")
        let stored = Int(try await store.snapshot().articleCount)
        XCTAssertGreaterThan(stored, 0, "at least the chunk that reported progress is committed")
        XCTAssertLessThan(stored, total, "the kill came before the end")
        assertEqual(try await store.snapshot().head, UInt64(stored), "one revision per stored file, none half-written")
        assertEqual(try await store.snapshot().digest, try await store.recomputedDigest())
        for id in try await store.allIDs() {
            let number = Int(id.dropFirst())!
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.file("in/\(number / 500)/\(id).txt"))))
            assertEqual(try await store.article(id: id)?.article.source, bytes, "\(id) is whole")
        }

        let report = try await store.importFiles([directory.file("in")])
        XCTAssertEqual(report.unchanged, stored)
        XCTAssertEqual(report.added, total - stored)
        assertEqual(Int(try await store.snapshot().articleCount), total)
        assertEqual(try await store.snapshot().digest, try await store.recomputedDigest())
        try store.close()
    }
}

/// Deterministic German-looking filler.
struct Words {
    static let vocabulary = [
        "die", "der", "das", "Regierung", "Gespräche", "Straße", "Präsenz", "über", "Verhandlungen", "Bürger", "Stadt",
        "Wirtschaft", "Entscheidung", "am", "Donnerstag", "in", "Berlin", "München", "Kommission", "Haushalt", "größer",
        "Öffentlichkeit", "mit", "und", "für", "gegen", "nach", "Bericht", "Ministerium", "Zukunft",
    ]
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(truncatingIfNeeded: state >> 33)
    }

    mutating func sentence(words: Int) -> String {
        (0..<words).map { _ in Self.vocabulary[next() % Self.vocabulary.count] }.joined(separator: " ") + "."
    }
}
