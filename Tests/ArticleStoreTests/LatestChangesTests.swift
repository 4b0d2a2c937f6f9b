import ArticleStore
import Foundation
import XCTest

final class LatestChangesTests: XCTestCase {
    func testALaterChangeOfAnIdReplacesTheEarlierOneAndPagesGoByRevision() throws {
        let latest = try LatestChanges()
        try latest.record([
            LatestChange(revision: 1, id: "a", title: "A", live: true),
            LatestChange(revision: 2, id: "b", title: "B", live: false),
            LatestChange(revision: 3, id: "c", title: nil, live: false),
        ])
        try latest.record([
            LatestChange(revision: 4, id: "a", title: "A2", live: true),
            LatestChange(revision: 5, id: "d", title: nil, live: true),
            // New, then deleted again: nothing happens to the replica.
            LatestChange(revision: 6, id: "b", title: nil, live: false),
            LatestChange(revision: 7, id: "e", title: "E", live: false),
        ])
        let expected = [
            LatestChange(revision: 4, id: "a", title: "A2", live: true),
            LatestChange(revision: 5, id: "d", title: nil, live: true),
            LatestChange(revision: 7, id: "e", title: "E", live: false),
        ]
        XCTAssertEqual(expected.map(\.kind), [.changed, .deleted, .new])
        XCTAssertEqual(try latest.page(after: 0, limit: 10), expected)
        XCTAssertEqual(try latest.page(after: 0, limit: 2), Array(expected[0..<2]))
        XCTAssertEqual(try latest.page(after: 5, limit: 2), [expected[2]])
        XCTAssertEqual(try latest.page(after: 7, limit: 2), [])
        let counts = try latest.counts()
        XCTAssertEqual([counts.new, counts.changed, counts.deleted], [1, 1, 1])
    }

    func testIdsAreTheirBytes() throws {
        let latest = try LatestChanges()
        // NFC and NFD "café": equal as Swift strings, two ids for a store.
        try latest.record([
            LatestChange(revision: 1, id: "caf\u{E9}", title: "NFC", live: false),
            LatestChange(revision: 2, id: "cafe\u{301}", title: "NFD", live: false),
        ])
        XCTAssertEqual(try latest.page(after: 0, limit: 10).map { Array($0.id.utf8) }, [Array("caf\u{E9}".utf8), Array("cafe\u{301}".utf8)])
    }

    func testARevisionBeyondWhatAStoreRecordsIsRefused() throws {
        let latest = try LatestChanges()
        XCTAssertThrowsError(try latest.record([LatestChange(revision: UInt64(Int64.max) + 1, id: "a", title: "A", live: false)])) { error in
            XCTAssertTrue("\(error)".contains("beyond what a store can record"), "\(error)")
        }
    }

    /// SQLite's temporary files by descriptor, as "fd target".
    private func temporaryFiles() throws -> Set<String> {
        var files = Set<String>()
        for descriptor in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + descriptor) else { continue }
            if target.contains("/etilqs_") { files.insert(descriptor + " " + target) }
        }
        return files
    }

    /// More than SQLite's page cache holds goes to a file, unlinked while open, that closes with the
    /// table: nothing of it stays behind.
    func testTheTableSpillsToAnUnlinkedFileThatClosesWithIt() throws {
        let before = try temporaryFiles()
        var latest: LatestChanges? = try LatestChanges()
        let title = String(repeating: "Meldung über die Verkehrswende ", count: 4)
        for start in stride(from: 1, through: 40_000, by: 2_000) {
            try latest?.record((start..<start + 2_000).map { LatestChange(revision: UInt64($0), id: "art\($0)", title: title, live: false) })
        }
        XCTAssertEqual(try latest?.counts().new, 40_000)
        let open = try temporaryFiles().subtracting(before)
        XCTAssertFalse(open.isEmpty, "the table did not spill to a file")
        for file in open {
            XCTAssertTrue(file.hasSuffix(" (deleted)"), "\(file) is still in its directory")
            let path = String(file.split(separator: " ", maxSplits: 1)[1].dropLast(" (deleted)".count))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), path)
        }
        latest = nil
        XCTAssertTrue(open.isDisjoint(with: try temporaryFiles()), "the table's file is still open")
    }
}
