import ArticleSyncProtocol
import ArticleSyncTestSupport
import Foundation
import Testing

@Suite("the articlesyncd serve process", .serialized)
struct ServeProcessTests {
    @Test func serveImportsListensOnAFreePortServesAPullAndStopsCleanlyOnSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("articlesyncd-process-\(UUID().uuidString)").path
        let seeds = directory + "/seeds"
        try FileManager.default.createDirectory(atPath: seeds, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for index in 1...5 {
            try Data(Fixtures.source(index: index)).write(to: URL(fileURLWithPath: seeds + "/story-\(index).txt"))
        }

        let (server, address) = try await ServerLaunch.start([
            "serve", "--store", directory + "/store.sqlite", "--port", "0", "--import", seeds,
            "--stats-file", directory + "/stats.json",
        ])
        defer { server.terminate() }

        let port = try #require(Int(address.split(separator: ":").last ?? ""))
        #expect(server.stdoutLines.contains("listening on 127.0.0.1:\(port)"), "stdout: \(server.stdout)")

        try await TestClient.with(port: port) { client in
            let welcome = try await client.handshake()
            #expect(welcome.role == .read)  // no tokens, no --anonymous-write
            let response = try await client.pull(Pull(storeID: .none, sinceRevision: 0))
            #expect(Set(response.changes.map(\.id)) == Set((1...5).map { "story-\($0)" }))
            #expect(response.caughtUpAt == 5)
        }

        server.kill(SIGTERM)
        let status = try await server.wait(timeout: .seconds(30))
        #expect(status == 0, "stderr: \(server.stderr)")
        #expect(server.stderr.contains("connection closed peer=127.0.0.1:"))
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/stats.json"))) as? [String: Any]
        #expect((stats?["bytesOut"] as? Int ?? 0) > 0)
        #expect(stats?["connectionsAccepted"] as? Int == 1)
    }

    @Test func aSecondServeOnTheSameStoreRefusesNamingTheStoreAndTheServingProcessWhileImportsStillWork() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("articlesyncd-process-\(UUID().uuidString)").path
        let seeds = directory + "/seeds"
        try FileManager.default.createDirectory(atPath: seeds, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(Fixtures.source(index: 1)).write(to: URL(fileURLWithPath: seeds + "/story-1.txt"))
        let store = directory + "/store.sqlite"

        let (first, _) = try await ServerLaunch.start(["serve", "--store", store, "--port", "0"])
        defer { first.terminate() }

        let second = try ChildProcess(Binaries.server, ["serve", "--store", store, "--port", "0"])
        defer { second.terminate() }
        #expect(try await second.wait(timeout: .seconds(60)) == 1)
        #expect(!second.stdout.contains("listening on"))
        #expect(second.stderr.contains(store), "stderr: \(second.stderr)")
        #expect(second.stderr.contains("pid \(first.process.processIdentifier)"), "stderr: \(second.stderr)")

        let importing = try ChildProcess(Binaries.server, ["import", "--store", store, seeds])
        defer { importing.terminate() }
        #expect(try await importing.wait(timeout: .seconds(60)) == 0, "stderr: \(importing.stderr)")

        // The lock ends with its process, however it ends.
        first.kill(SIGKILL)
        _ = try await first.wait(timeout: .seconds(30))
        let (third, _) = try await ServerLaunch.start(["serve", "--store", store, "--port", "0"])
        third.kill(SIGTERM)
        #expect(try await third.wait(timeout: .seconds(30)) == 0, "stderr: \(third.stderr)")
    }

    @Test func serveHelpDocumentsTheListeningLineTheAnonymousWriteFlagAndTheLimits() async throws {
        let help = try ChildProcess(Binaries.server, ["serve", "--help"])
        defer { help.terminate() }
        #expect(try await help.wait(timeout: .seconds(30)) == 0)
        let text = help.stdout
        for expected in ["listening on HOST:PORT", "--anonymous-write", "--idle-timeout", "--handshake-timeout", "--max-connections", "--stats-file", "bytesIn="] {
            #expect(text.contains(expected), "missing \(expected)")
        }
    }

    @Test func aFrameLimitBelowWhatAReadRequestNeedsIsAUsageError() async throws {
        let server = try ChildProcess(Binaries.server, ["serve", "--store", "/nonexistent/s.sqlite", "--max-frame-length", "6"])
        defer { server.terminate() }
        #expect(try await server.wait(timeout: .seconds(30)) == 64)
        #expect(server.stderr.contains("--max-frame-length must be between 65536 and 16777216"), "\(server.stderr)")
    }

    @Test func serveRefusesAnImportFolderThatDoesNotExist() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("articlesyncd-process-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ChildProcess(
            Binaries.server, ["serve", "--store", directory + "/s.sqlite", "--port", "0", "--import", directory + "/missing"])
        defer { server.terminate() }
        let status = try await server.wait(timeout: .seconds(30))
        #expect(status == 1)
        #expect(server.stderr.contains("no such file or directory"))
    }
}
