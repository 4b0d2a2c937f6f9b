import ArticleSyncProtocol
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

        let server = try ServerProcess([
            "serve", "--store", directory + "/store.sqlite", "--port", "0", "--import", seeds,
            "--stats-file", directory + "/stats.json",
        ])
        defer { server.kill() }

        let line = try #require(await server.waitForLine(startingWith: "listening on ", within: .seconds(60)), "stderr: \(server.stderr)")
        let port = try #require(Int(line.split(separator: ":").last ?? ""))
        #expect(line == "listening on 127.0.0.1:\(port)")

        try await TestClient.with(port: port) { client in
            let welcome = try await client.handshake()
            #expect(welcome.role == .read)  // no tokens, no --anonymous-write
            let response = try await client.pull(Pull(storeID: .none, sinceRevision: 0))
            #expect(Set(response.changes.map(\.id)) == Set((1...5).map { "story-\($0)" }))
            #expect(response.caughtUpAt == 5)
        }

        server.signal(SIGTERM)
        let status = await server.waitForExit(within: .seconds(30))
        #expect(status == 0, "stderr: \(server.stderr)")
        #expect(server.stderr.contains("connection closed peer=127.0.0.1:"))
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/stats.json"))) as? [String: Any]
        #expect((stats?["bytesOut"] as? Int ?? 0) > 0)
        #expect(stats?["connectionsAccepted"] as? Int == 1)
    }

    @Test func serveHelpDocumentsTheListeningLineTheAnonymousWriteFlagAndTheLimits() async throws {
        let help = try ServerProcess(["serve", "--help"])
        defer { help.kill() }
        var text = ""
        for await line in help.lines { text += line + "\n" }
        #expect(await help.waitForExit(within: .seconds(30)) == 0)
        for expected in ["listening on HOST:PORT", "--anonymous-write", "--idle-timeout", "--handshake-timeout", "--max-connections", "--stats-file", "bytesIn="] {
            #expect(text.contains(expected), "missing \(expected)")
        }
    }

    @Test func serveRefusesAnImportFolderThatDoesNotExist() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("articlesyncd-process-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ServerProcess(["serve", "--store", directory + "/s.sqlite", "--port", "0", "--import", directory + "/missing"])
        defer { server.kill() }
        let status = await server.waitForExit(within: .seconds(30))
        #expect(status == 1)
        #expect(server.stderr.contains("no such file or directory"))
    }
}
