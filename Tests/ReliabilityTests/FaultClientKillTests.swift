import ArticleStore
import ArticleSyncClient
import Foundation
import Testing

/// `articlesync pull` killed with SIGKILL at many points of a long pull: the replica always opens,
/// passes `PRAGMA integrity_check`, equals the server's store at its own cursor, and one more pull
/// makes it equal at the head (`articlesync verify` exits 0).
@Suite(.serialized) struct FaultClientKillTests {
    @Test func aPullKilledAtTwentyFourPointsLeavesAnIntactReplicaEveryTime() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        // Poorly compressing articles and a 4 KiB budget: about one article per batch, so a kill
        // after a random number of batches plus a random few milliseconds lands mid-batch (decoding)
        // or mid-commit as often as between batches.
        try Corpus.write(count: 2_400, to: temp.path + "/corpus", paragraphs: 3, noise: true)
        let server = try await ReliabilityServer(storePath: temp.path + "/server.sqlite", importDirectory: temp.path + "/corpus")
        let replica = temp.path + "/replica.sqlite"
        do {
            try await Self.killRepeatedly(server, replica)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// A reading replica's bootstrap killed while it builds its search index on two connections
    /// (after its last batch): the replica is intact and exact, its index pending; the next pull
    /// builds it (and removes the scratch file a kill left), and search finds what it should.
    @Test func aPullKilledWhileItBuildsTheSearchIndexLeavesAReplicaTheNextPullIndexes() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let articles = 2_400
        try Corpus.write(count: articles, to: temp.path + "/corpus", paragraphs: 3)
        let server = try await ReliabilityServer(storePath: temp.path + "/server.sqlite", importDirectory: temp.path + "/corpus")
        do {
            var landed = 0
            for point in 0..<8 {
                let replica = temp.path + "/replica-\(point).sqlite"
                let trigger = ChildProcess.Trigger(afterLine: 1, delayMicros: UInt32(point) * 40_000) { line in
                    guard let object = jsonObject(line), object["event"] as? String == "batch" else { return false }
                    return (object["to"] as? NSNumber)?.intValue == articles
                }
                let child = try ChildProcess(
                    Binaries.client, ["pull", "--json", "--replica", replica, "--server", "\(server.address)"], trigger: trigger)
                let status = try await child.wait()
                #expect(child.signalledAt != nil, "point \(point): the last batch was never reported")
                let store = try Replica.openExisting(at: replica)
                let integrity = try await store.integrityCheck()
                let pending = try await store.isFullTextIndexPending()
                try store.close()
                #expect(integrity == "ok", "point \(point): \(integrity)")
                if status != 0 && pending { landed += 1 }
                let report = try await Verifier(configuration: server.configuration, replicaPath: replica).verify()
                #expect(report.isExact, "point \(point): \(report.differences)")

                let again = try ChildProcess(Binaries.client, ["pull", "--replica", replica, "--server", "\(server.address)"])
                #expect(try await again.wait() == 0, "\(again.stderr)")
                #expect(!FileManager.default.fileExists(atPath: replica + ".fts-build"), "point \(point): the scratch file is gone")
                let built = try Replica.openExisting(at: replica)
                #expect(try await !built.isFullTextIndexPending())
                let problems = try await built.fullTextIndexProblems()
                let hits = try await built.search("Gespräche", limit: 5)
                try built.close()
                #expect(problems == nil, "point \(point): \(problems ?? "")")
                #expect(!hits.isEmpty, "point \(point): search finds nothing")
            }
            #expect(landed >= 3, "only \(landed) kills landed during the index build")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static func killRepeatedly(_ server: ReliabilityServer, _ replica: String) async throws {
        var generator = SplitMix64(seed: 20)
        var cursors: [UInt64] = []
        var killedMidPull = 0
        for point in 0..<24 {
            let batches = 1 + Int(generator.next() % 12)
            let extraMicros = UInt32(generator.next() % 15_000)
            let trigger = ChildProcess.Trigger(afterLine: batches, delayMicros: extraMicros) { jsonObject($0)?["event"] as? String == "batch" }
            let child = try ChildProcess(
                Binaries.client, ["pull", "--json", "--budget", "4096", "--replica", replica, "--server", "\(server.address)"],
                trigger: trigger)
            try await child.wait()
            if child.signalledAt != nil { killedMidPull += 1 }
            guard Replica.exists(at: replica) else { continue }
            let store = try Replica.openExisting(at: replica)
            let integrity = try await store.integrityCheck()
            try store.close()
            #expect(integrity == "ok", "kill point \(point): \(integrity)")
            let report = try await Verifier(configuration: server.configuration, replicaPath: replica).verify()
            #expect(report.isExact, "kill point \(point) (after \(batches) batches + \(extraMicros) µs): \(report.differences)")
            cursors.append(report.cursor)
        }
        #expect(killedMidPull >= 20, "only \(killedMidPull) kills landed during the pull")
        #expect(cursors == cursors.sorted(), "a cursor moved back: \(cursors)")

        let final = try ChildProcess(Binaries.client, ["pull", "--replica", replica, "--server", "\(server.address)"])
        #expect(try await final.wait() == 0, "\(final.stderr)")
        let verify = try ChildProcess(Binaries.client, ["verify", "--replica", replica, "--server", "\(server.address)"])
        #expect(try await verify.wait() == 0, "\(verify.stdout) \(verify.stderr)")
    }
}

/// Decodes one JSON line into a dictionary.
func jsonObject(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}
