import ArticleModel
import ArticleStore
@testable import ArticleSyncClient
import Foundation
import Testing

/// The plain-file tree against replicas written directly (no server): what it writes, moves and
/// removes, what it leaves alone, and that a dry run changes nothing.
@Suite("plain-file tree")
struct FileTreeTests {
    final class Scratch {
        let root: String
        let replica: String
        let tree: String
        let upstream = StoreID.random()

        init() throws {
            root = NSTemporaryDirectory() + "filetree-\(UInt64.random(in: 0...UInt64.max))"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            replica = root + "/replica.sqlite"
            tree = root + "/tree"
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        static func source(_ title: String, year: Int = 2025, month: Int = 4) -> [UInt8] {
            SeedFormat.render(
                published: PublicationTime(year: year, month: month, day: 10, hour: 21, minute: 17), category: "Welt",
                title: title, body: "Absatz über \(title).")
        }

        /// Applies puts (id, title, year, month) and deletions as one batch up to `cursor`.
        func apply(_ puts: [(String, String, Int, Int)], deleting: [String] = [], cursor: UInt64) async throws {
            let store = try ReplicaStore(path: replica, fullTextIndex: false)
            defer { try? store.close() }
            var revision = try await store.snapshot().cursor
            var changes: [ReplicaChange] = []
            for (id, title, year, month) in puts {
                revision += 1
                let bytes = Self.source(title, year: year, month: month)
                changes.append(.put(id: id, revision: revision, article: try SeedFormat.parse(bytes), contentHash: StoreDigest.contentHash(of: bytes)))
            }
            for id in deleting {
                revision += 1
                changes.append(.delete(id: id, revision: revision))
            }
            try await store.applyBatch(changes, upstreamStoreID: upstream, cursor: max(cursor, revision))
        }

        /// A pass in pages of two rows: every plan, move, write and removal here crosses pages.
        func sync(_ layout: FileTreeLayout = .flat, delete: Bool = true, dryRun: Bool = false, pageRows: Int = 2) async throws -> FileTreeReport {
            var fileTree = FileTree(replicaPath: replica, directory: tree, layout: layout, deleteStale: delete, dryRun: dryRun, itemize: true)
            fileTree.pageRows = pageRows
            return try await fileTree.sync()
        }

        /// Every file under the tree (its own `.articlesync-tree*` left out), relative, with its bytes.
        func files() -> [String: [UInt8]] {
            var found: [String: [UInt8]] = [:]
            guard let walker = FileManager.default.enumerator(atPath: tree) else { return [:] }
            while let path = walker.nextObject() as? String {
                if path.hasPrefix(FileTreeManifest.reservedPrefix) { continue }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: tree + "/" + path, isDirectory: &isDirectory) else { continue }
                if !isDirectory.boolValue { found[path] = FileManager.default.contents(atPath: tree + "/" + path).map { [UInt8]($0) } }
            }
            return found
        }

        func inode(_ path: String) -> UInt64 {
            ((try? FileManager.default.attributesOfItem(atPath: tree + "/" + path))?[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        }
    }

    @Test func aFirstPassWritesEveryArticleByteForByteAndRecordsItsRevision() async throws {
        let scratch = try Scratch()
        try await scratch.apply([("a1", "Eins", 2025, 4), ("b2", "Zwei", 2024, 12)], cursor: 2)
        let report = try await scratch.sync()
        #expect(report.full && report.written == 2 && report.revision == 2)
        #expect(report.changes.items.map(\.line).sorted() == ["+ a1 Eins", "+ b2 Zwei"])
        #expect(scratch.files() == ["a1.txt": Scratch.source("Eins"), "b2.txt": Scratch.source("Zwei", year: 2024, month: 12)])
        #expect(!FileManager.default.fileExists(atPath: scratch.tree + "/" + FileTree.temporaryFolder))
    }

    @Test func aLaterPassWritesOnlyWhatChangedAndRemovesWhatWasDeleted() async throws {
        let scratch = try Scratch()
        try await scratch.apply([("a1", "Eins", 2025, 4), ("b2", "Zwei", 2025, 4), ("c3", "Drei", 2025, 4)], cursor: 3)
        _ = try await scratch.sync()
        let untouched = scratch.inode("c3.txt")
        try await scratch.apply([("a1", "Eins, neu", 2025, 4), ("d4", "Vier", 2025, 4)], deleting: ["b2"], cursor: 6)
        let report = try await scratch.sync()
        #expect(!report.full && report.written == 2 && report.unchanged == 1 && report.removed == ["b2.txt"] && report.revision == 6)
        #expect(report.changes.items.map(\.line) == ["~ a1 Eins, neu", "+ d4 Vier", "- b2"])
        #expect(scratch.files() == ["a1.txt": Scratch.source("Eins, neu"), "c3.txt": Scratch.source("Drei"), "d4.txt": Scratch.source("Vier")])
        #expect(scratch.inode("c3.txt") == untouched, "an unchanged file is not rewritten")
        let again = try await scratch.sync()
        #expect(again.changes.isEmpty && again.written == 0 && again.removed.isEmpty)
    }

    @Test func aUsersOwnFilesAreNeverTouchedEvenWithDelete() async throws {
        let scratch = try Scratch()
        try await scratch.apply([("a1", "Eins", 2025, 4), ("b2", "Zwei", 2025, 4)], cursor: 2)
        try FileManager.default.createDirectory(atPath: scratch.tree, withIntermediateDirectories: true)
        let note: [UInt8] = Array("meine Notiz".utf8)
        #expect(FileManager.default.createFile(atPath: scratch.tree + "/mynote.txt", contents: Data(note)))
        #expect(FileManager.default.createFile(atPath: scratch.tree + "/zz.txt", contents: Data(note)))
        _ = try await scratch.sync()
        try await scratch.apply([], deleting: ["a1", "b2"], cursor: 4)
        let report = try await scratch.sync()
        #expect(report.removed.sorted() == ["a1.txt", "b2.txt"])
        #expect(scratch.files() == ["mynote.txt": note, "zz.txt": note])
    }

    @Test func withoutDeleteTheFilesOfDeletedArticlesStayAndALaterDeleteRemovesThem() async throws {
        let scratch = try Scratch()
        try await scratch.apply([("a1", "Eins", 2025, 4), ("b2", "Zwei", 2025, 4)], cursor: 2)
        _ = try await scratch.sync(delete: false)
        try await scratch.apply([], deleting: ["a1"], cursor: 3)
        let kept = try await scratch.sync(delete: false)
        #expect(kept.keptStale == 1 && kept.removed.isEmpty && scratch.files().count == 2)
        let removed = try await scratch.sync(delete: true)
        #expect(removed.removed == ["a1.txt"] && removed.changes.items.map(\.line) == ["- a1"])
        #expect(scratch.files().keys.sorted() == ["b2.txt"])
    }

    @Test func aDryRunReportsTheChangesAndChangesNothing() async throws {
        let scratch = try Scratch()
        try await scratch.apply([("a1", "Eins", 2025, 4), ("b2", "Zwei", 2025, 4)], cursor: 2)
        let first = try await scratch.sync(dryRun: true)
        #expect(first.changes.items.map(\.line).sorted() == ["+ a1 Eins", "+ b2 Zwei"])
        #expect(!FileManager.default.fileExists(atPath: scratch.tree), "a dry run does not even create the folder")
        _ = try await scratch.sync()
        let manifest = try Data(contentsOf: URL(fileURLWithPath: scratch.tree + "/" + FileTreeManifest.fileName))
        let before = scratch.files()
        try await scratch.apply([("a1", "Eins, neu", 2025, 4), ("c3", "Drei", 2025, 4)], deleting: ["b2"], cursor: 5)
        let dry = try await scratch.sync(dryRun: true)
        #expect(dry.changes.items.map(\.line) == ["~ a1 Eins, neu", "+ c3 Drei", "- b2"])
        #expect(dry.changes.summary(dryRun: true) == "would add 1, change 1, delete 1")
        #expect(scratch.files() == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.tree + "/" + FileTreeManifest.fileName)) == manifest)
    }

    @Test func layoutsPlaceFilesByShardAndDateAndANewLayoutMovesRatherThanRewrites() async throws {
        let scratch = try Scratch()
        try await scratch.apply([("ab12", "Eins", 2025, 4), ("cd34", "Zwei", 2024, 11)], cursor: 2)
        _ = try await scratch.sync(.shard)
        #expect(scratch.files().keys.sorted() == ["ab/ab12.txt", "cd/cd34.txt"])
        let inode = scratch.inode("ab/ab12.txt")
        let moved = try await scratch.sync(.date)
        #expect(moved.moved == 2 && moved.written == 0 && moved.changes.isEmpty)
        #expect(scratch.files() == ["2025/04/ab12.txt": Scratch.source("Eins"), "2024/11/cd34.txt": Scratch.source("Zwei", year: 2024, month: 11)])
        #expect(scratch.inode("2025/04/ab12.txt") == inode, "moved, not rewritten")
        #expect(!FileManager.default.fileExists(atPath: scratch.tree + "/ab"), "an emptied folder goes")
        // A new date moves the article's file in the date layout.
        try await scratch.apply([("cd34", "Zwei", 2025, 1)], cursor: 3)
        let redated = try await scratch.sync(.date)
        #expect(scratch.files().keys.sorted() == ["2025/01/cd34.txt", "2025/04/ab12.txt"])
        #expect(redated.changes.items.map(\.line) == ["~ cd34 Zwei"])
    }

    /// A pass goes a page of rows at a time; over many pages (one row each) it does exactly what
    /// one page does: the same files, changes, moves and removals, deletions found across pages.
    @Test func aPassOverManyPagesDoesWhatAPassOverOneDoes() async throws {
        var trees: [[String: [UInt8]]] = []
        var reports: [[String]] = []
        for pageRows in [1, 1_000] {
            let scratch = try Scratch()
            try await scratch.apply((1...7).map { ("id\($0)", "Titel \($0)", 2025, $0) }, cursor: 7)
            _ = try await scratch.sync(.shard, pageRows: pageRows)
            try await scratch.apply([("id2", "Titel 2, neu", 2025, 2), ("id8", "Acht", 2024, 1)], deleting: ["id1", "id5", "id7"], cursor: 12)
            let incremental = try await scratch.sync(.shard, pageRows: pageRows)
            try await scratch.apply([], deleting: ["id3"], cursor: 13)
            // Another layout: a full pass, which moves the files and finds id3 gone.
            let relaid = try await scratch.sync(.date, pageRows: pageRows)
            #expect(relaid.full && relaid.moved == 4 && relaid.written == 0 && relaid.removed == ["id/id3.txt"])
            trees.append(scratch.files())
            reports.append(
                incremental.changes.items.map(\.line) + incremental.removed.sorted() + relaid.changes.items.map(\.line) + ["\(relaid.revision)"])
        }
        #expect(trees[0] == trees[1] && reports[0] == reports[1])
        #expect(trees[0].keys.sorted() == ["2024/01/id8.txt", "2025/02/id2.txt", "2025/04/id4.txt", "2025/06/id6.txt"])
        #expect(reports[0] == ["~ id2 Titel 2, neu", "+ id8 Acht", "- id1", "- id5", "- id7", "id/id1.txt", "id/id5.txt", "id/id7.txt", "- id3", "13"])
    }

    @Test func anExistingPlainExportIsAdoptedWithoutRewritingIt() async throws {
        let scratch = try Scratch()
        try await scratch.apply([("a1", "Eins", 2025, 4)], cursor: 1)
        try FileManager.default.createDirectory(atPath: scratch.tree, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: scratch.tree + "/a1.txt", contents: Data(Scratch.source("Eins"))))
        let inode = scratch.inode("a1.txt")
        let report = try await scratch.sync()
        #expect(report.written == 0 && report.unchanged == 1 && scratch.inode("a1.txt") == inode)
        try await scratch.apply([], deleting: ["a1"], cursor: 2)
        #expect(try await scratch.sync().removed == ["a1.txt"], "an adopted file is the tree's own")
    }

    @Test func sourcePathsFromAServerAreCheckedBeforeUse() {
        #expect(FileTreeLayout.checkedSourcePath("ab/abc.txt", id: "abc") == "ab/abc.txt")
        #expect(FileTreeLayout.checkedSourcePath("2025/x/abc", id: "abc") == "2025/x/abc")
        for hostile in ["../abc.txt", "/etc/abc.txt", "a/../abc.txt", "a//abc.txt", ".articlesync-tree/abc.txt", "a/.hidden/abc.txt", "ab/other.txt", "a\u{1B}/abc.txt", ""] {
            #expect(FileTreeLayout.checkedSourcePath(hostile, id: "abc") == nil, "\(hostile)")
        }
        let flat = FileTreeLayout.source.path(id: "abc", published: PublicationTime(year: 2025, month: 1, day: 1, hour: 0, minute: 0), sourcePath: "../abc.txt")
        #expect(flat == "abc.txt")
    }
}
