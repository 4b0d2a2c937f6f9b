import ArticleModel
import ArticleStore
import ArticleSyncClient
import Foundation
import Testing

/// `articlesync export` (the plain-file tree `pull --files` keeps too) killed with SIGKILL at many
/// points while it writes, moves and removes files: the next run always leaves the tree exact
/// (every live article's file at its place, byte for byte; no file of a deleted article; no
/// temporary file), and a user's own file in the tree is never touched.
@Suite(.serialized) struct FileTreeKillTests {
    struct Model {
        /// id -> (source, publication time)
        var live: [String: ([UInt8], PublicationTime)] = [:]
        var revision: UInt64 = 0
    }

    static func source(_ n: Int, edit: Int, time: PublicationTime) -> [UInt8] {
        SeedFormat.render(
            published: time, category: "Welt", title: "Artikel \(n) Fassung \(edit)",
            body: String(repeating: "Ein Absatz über die Stadt Nummer \(n), Fassung \(edit). ", count: 20))
    }

    /// One batch: `puts` (new or edited articles) and `deletes`, applied to the replica and the model.
    static func apply(_ replica: String, _ upstream: StoreID, _ model: inout Model, puts: [(String, [UInt8], PublicationTime)], deletes: [String]) async throws {
        let store = try ReplicaStore(path: replica, fullTextIndex: false)
        defer { try? store.close() }
        var changes: [ReplicaChange] = []
        for (id, bytes, time) in puts {
            model.revision += 1
            changes.append(.put(id: id, revision: model.revision, article: try SeedFormat.parse(bytes), contentHash: StoreDigest.contentHash(of: bytes)))
            model.live[id] = (bytes, time)
        }
        for id in deletes {
            model.revision += 1
            changes.append(.delete(id: id, revision: model.revision))
            model.live[id] = nil
        }
        try await store.applyBatch(changes, upstreamStoreID: upstream, cursor: model.revision)
    }

    /// Every regular file under `root`, relative (symlinks and folders left out).
    static func files(_ root: String) -> [String: [UInt8]] {
        var found: [String: [UInt8]] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [:] }
        while let path = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            found[path] = FileManager.default.contents(atPath: root + "/" + path).map { [UInt8]($0) }
        }
        return found
    }

    @Test func anExportKilledAtTwentyPointsIsExactAfterTheNextRunEveryTime() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = temp.path + "/replica.sqlite"
        let tree = temp.path + "/tree"
        let upstream = StoreID.random()
        var model = Model()
        var generator = SplitMix64(seed: 17)
        func time(_ n: Int) -> PublicationTime {
            PublicationTime(year: 2015 + n % 10, month: 1 + n % 12, day: 1 + n % 28, hour: n % 24, minute: n % 60)
        }
        var next = 0
        var edits: [String: Int] = [:]
        var puts: [(String, [UInt8], PublicationTime)] = []
        for _ in 0..<3_000 {
            let id = String(format: "%06d_%08x", next, UInt32(truncatingIfNeeded: generator.next()))
            puts.append((id, Self.source(next, edit: 0, time: time(next)), time(next)))
            next += 1
        }
        try await Self.apply(replica, upstream, &model, puts: puts, deletes: [])
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        let note = Array("meine eigene Notiz\n".utf8)
        #expect(FileManager.default.createFile(atPath: tree + "/mynote.txt", contents: Data(note)))

        let layouts: [FileTreeLayout] = [.flat, .shard, .date]
        var killed = 0
        for point in 0..<20 {
            // Between kills the replica moves on: edits (some to a new date), additions, deletions.
            if point > 0 {
                var changed: [(String, [UInt8], PublicationTime)] = []
                let ids = model.live.keys.sorted()
                for _ in 0..<60 {
                    let id = ids[Int(generator.next() % UInt64(ids.count))]
                    let n = Int(id.prefix(6))!
                    let edit = (edits[id] ?? 0) + 1
                    edits[id] = edit
                    let when = generator.next() % 2 == 0 ? time(n) : time(n + edit)
                    changed.append((id, Self.source(n, edit: edit, time: when), when))
                }
                for _ in 0..<20 {
                    let id = String(format: "%06d_%08x", next, UInt32(truncatingIfNeeded: generator.next()))
                    changed.append((id, Self.source(next, edit: 0, time: time(next)), time(next)))
                    next += 1
                }
                var deletes = Set<String>()
                while deletes.count < 15 { deletes.insert(ids[Int(generator.next() % UInt64(ids.count))]) }
                changed.removeAll { deletes.contains($0.0) }
                var seen = Set<String>()
                changed = changed.reversed().filter { seen.insert($0.0).inserted }.reversed()
                try await Self.apply(replica, upstream, &model, puts: changed, deletes: deletes.sorted())
            }
            // A new layout every few points: the kill lands among moves too.
            let layout = layouts[(point / 3) % layouts.count]
            let delay = UInt32(generator.next() % 60_000)
            let trigger = ChildProcess.Trigger(afterLine: 1, delayMicros: delay) { jsonObject($0)?["event"] as? String == "progress" }
            let arguments = ["export", tree, "--delete", "--json", "--layout", layout.rawValue, "--replica", replica]
            let child = try ChildProcess(Binaries.client, arguments, trigger: trigger)
            try await child.wait()
            if child.process.terminationReason == .uncaughtSignal { killed += 1 }

            let again = try ChildProcess(Binaries.client, arguments)
            #expect(try await again.wait() == 0, "point \(point): \(again.stderr)")
            var expected: [String: [UInt8]] = ["mynote.txt": note]
            for (id, (bytes, published)) in model.live { expected[layout.path(id: id, published: published, sourcePath: nil)] = bytes }
            let found = Self.files(tree).filter { !$0.key.hasPrefix(FileTreeManifest.reservedPrefix) }
            let missing = expected.keys.filter { found[$0] == nil }.sorted()
            let extra = found.keys.filter { expected[$0] == nil }.sorted()
            let wrong = expected.keys.filter { found[$0] != nil && found[$0] != expected[$0] }.sorted()
            #expect(missing.isEmpty && extra.isEmpty && wrong.isEmpty,
                "point \(point) (\(layout), killed after \(delay) µs): missing \(missing.prefix(5)), extra \(extra.prefix(5)), wrong \(wrong.prefix(5))")
            #expect(!FileManager.default.fileExists(atPath: tree + "/.articlesync-tree.tmp"), "point \(point): a temporary folder is left")
        }
        #expect(killed >= 10, "only \(killed) of 20 kills landed while the export ran")
    }
}
