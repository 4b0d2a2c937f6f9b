import ArticleStore
import ArticleSyncClient
import Foundation
import Testing

/// `articlesyncd` killed with SIGKILL while a writer pushes: after a restart every acknowledged push
/// is there, and no push is half-applied (each writes K marked articles: all K or none).
@Suite(.serialized) struct FaultServerKillTests {
    static let perPush = 5

    static func items(push: Int) -> [PushItem] {
        (0..<perPush).map { index in
            PushItem(id: "push\(push)-\(index)", source: Array(Corpus.article(push * 10 + index, paragraphs: 2).utf8))
        }
    }

    @Test func everyAcknowledgedPushSurvivesAndNoneIsHalfApplied() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let server = try await ReliabilityServer(storePath: temp.path + "/server.sqlite")
        var acknowledged = Set<Int>()
        var generator = SplitMix64(seed: 3)
        do {
            for round in 0..<5 {
                let configuration = server.configuration
                let replica = temp.path + "/unused.sqlite"
                let writer = Task { () -> Set<Int> in
                    var acked = Set<Int>()
                    var push = round * 10_000
                    while true {
                        do {
                            _ = try await Pusher(configuration: configuration, replicaPath: replica, force: true).push(Self.items(push: push))
                            acked.insert(push)
                        } catch {
                            return acked
                        }
                        push += 1
                    }
                }
                try await Task.sleep(for: .milliseconds(100 + Int(generator.next() % 400)))
                await server.killHard()
                acknowledged.formUnion(await writer.value)
                try await server.restart()
            }
            // Read back through the protocol: a fresh replica holds exactly the server's store.
            let replica = temp.path + "/check.sqlite"
            _ = try await Syncer(configuration: server.configuration, replicaPath: replica, options: SyncOptions()).pull()
            let store = try Replica.openExisting(at: replica)
            let ids = try await store.allIDs()
            try store.close()
            var perPushCount: [Int: Int] = [:]
            for id in ids {
                let push = Int(id.dropFirst(4).split(separator: "-")[0])!
                perPushCount[push, default: 0] += 1
            }
            let acked = acknowledged
            #expect(acked.count >= 5, "too few pushes acknowledged to prove anything: \(acked.count)")
            for push in acked { #expect(perPushCount[push] == Self.perPush, "acknowledged push \(push) has \(perPushCount[push] ?? 0) of \(Self.perPush)") }
            for (push, count) in perPushCount { #expect(count == Self.perPush, "push \(push) half-applied: \(count) of \(Self.perPush)") }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
