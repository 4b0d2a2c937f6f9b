import ArticleSyncClient
import Foundation
import Testing

/// The connection dropped mid-frame by a proxy: the client says so and exits non-zero, the replica
/// stays exact at its cursor, and the next pull completes.
@Suite(.serialized) struct FaultConnectionCutTests {
    @Test func aConnectionCutMidFrameIsReportedAndTheNextPullCompletes() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        try Corpus.write(count: 300, to: temp.path + "/corpus", paragraphs: 3, noise: true)
        let server = try await ReliabilityServer(storePath: temp.path + "/server.sqlite", importDirectory: temp.path + "/corpus")
        do {
            let replica = temp.path + "/replica.sqlite"
            // Cut inside WELCOME, inside the first BATCH, and deep in the stream (odd counts: mid-frame).
            for cut in [17, 1_001, 200_003] {
                let proxy = try CuttingProxy(upstreamPort: server.port, cutAfter: cut)
                let child = try ChildProcess(Binaries.client, ["pull", "--budget", "4096", "--replica", replica, "--server", "127.0.0.1:\(proxy.port)"])
                let status = try await child.wait(timeout: .seconds(60))
                proxy.stop()
                #expect(status != 0, "a pull cut after \(cut) bytes claimed success")
                let message = child.stderr.lowercased()
                #expect(message.contains("connection") || message.contains("closed") || message.contains("reset"), "unclear message after a cut at \(cut): \(child.stderr)")
                if Replica.exists(at: replica) {
                    let report = try await Verifier(configuration: server.configuration, replicaPath: replica).verify()
                    #expect(report.isExact, "cut at \(cut): \(report.differences)")
                }
            }
            let pull = try ChildProcess(Binaries.client, ["pull", "--replica", replica, "--server", "\(server.address)"])
            #expect(try await pull.wait() == 0, "\(pull.stderr)")
            let verify = try ChildProcess(Binaries.client, ["verify", "--replica", replica, "--server", "\(server.address)"])
            #expect(try await verify.wait() == 0, "\(verify.stdout) \(verify.stderr)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
