import ArticleSyncClient
import Foundation
import Testing

/// A replica on a full disk or a read-only file system: the pull fails with a clear error and the
/// replica is left exactly as it was. As root, chmod does not stop writes, so the replica lives on
/// a small tmpfs the test mounts (size=2m for "full", remounted ro for "read-only"); where mounting
/// is not permitted (not root) the test is skipped.
@Suite(.serialized, .enabled(if: TmpfsMount.isPermitted, "needs mount(8) for a small tmpfs (run as root)"))
struct FaultFullDiskTests {
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> Int32 { TmpfsMount.run(tool, arguments) }

    static func fingerprint(_ path: String) -> [Data] {
        ["", "-wal"].map { FileManager.default.contents(atPath: path + $0) ?? Data() }
    }

    @Test func aFullDiskAndAReadOnlyReplicaFailClearlyAndChangeNothing() async throws {
        let temp = try TempDirectory()
        let mount = temp.path + "/mnt"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        #expect(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mount]) == 0)
        try Corpus.write(count: 20, to: temp.path + "/corpus", paragraphs: 2)
        let server = try await ReliabilityServer(storePath: temp.path + "/server.sqlite", importDirectory: temp.path + "/corpus")
        do {
            let replica = mount + "/replica.sqlite"
            let first = try ChildProcess(Binaries.client, ["pull", "--replica", replica, "--server", "\(server.address)"])
            #expect(try await first.wait() == 0, "\(first.stderr)")
            let before = try await Verifier(configuration: server.configuration, replicaPath: replica).verify()
            #expect(before.isExact)

            // About 6 MB of new, poorly compressing articles: more than the 2 MiB file system holds.
            let items = (1_000..<2_500).map { PushItem(id: "big\($0)", source: Array(Corpus.article($0, paragraphs: 6, noise: true).utf8)) }
            _ = try await Pusher(configuration: server.configuration, replicaPath: temp.path + "/none.sqlite", force: true).push(items)
            let full = try ChildProcess(Binaries.client, ["pull", "--replica", replica, "--server", "\(server.address)"])
            #expect(try await full.wait() != 0, "a pull onto a full disk claimed success")
            let fullMessage = full.stderr.lowercased()
            #expect(fullMessage.contains("full") || fullMessage.contains("space"), "unclear message: \(full.stderr)")
            let afterFull = try await Verifier(configuration: server.configuration, replicaPath: replica).verify()
            // Batches that fitted before the disk filled are committed (each with its cursor: that
            // is what lets the next pull resume); the batch that did not fit left no trace, so the
            // replica is exactly the server's store as of its cursor.
            #expect(afterFull.cursor >= before.cursor, "the cursor went back on a full disk")
            #expect(afterFull.isExact, "the replica is not the server's store as of its cursor after a full disk")

            // Read-only: the same replica, remounted.
            let snapshot = Self.fingerprint(replica)
            #expect(Self.run("/bin/mount", ["-o", "remount,ro", mount]) == 0)
            let readOnly = try ChildProcess(Binaries.client, ["pull", "--replica", replica, "--server", "\(server.address)"])
            #expect(try await readOnly.wait() != 0, "a pull into a read-only replica claimed success")
            let readOnlyMessage = readOnly.stderr.lowercased()
            #expect(readOnlyMessage.contains("read-only") || readOnlyMessage.contains("readonly") || readOnlyMessage.contains("permission"), "unclear message: \(readOnly.stderr)")
            #expect(Self.fingerprint(replica) == snapshot, "the read-only replica's bytes changed")
        } catch {
            await server.stop()
            Self.run("/bin/umount", ["-l", mount])
            temp.cleanUp()
            throw error
        }
        await server.stop()
        Self.run("/bin/umount", ["-l", mount])
        temp.cleanUp()
    }
}

/// Whether this process may mount a tmpfs (root in a container that allows it).
enum TmpfsMount {
    static let isPermitted: Bool = {
        guard getuid() == 0, let temp = try? TempDirectory() else { return false }
        defer { temp.cleanUp() }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", temp.path]) == 0 else { return false }
        return run("/bin/umount", [temp.path]) == 0
    }()

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
