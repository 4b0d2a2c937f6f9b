import ArticleModel
import ArticleStore
import ArticleSyncProtocol
@testable import ArticleSyncServer
import ArticleSyncTestSupport
import Foundation
import NIOCore
import Testing

@Suite("the metrics endpoint and articlesyncd status")
struct MetricsEndpointIntegrationTests {
    private func scrape(_ server: TestServer) async throws -> [MetricSample] {
        let port = try #require(server.server.metricsLocalAddress?.port)
        return try MetricsScrape.parse(try await MetricsScrape.fetch(host: "127.0.0.1", port: port))
    }

    /// Scrapes until `condition` holds (the server's view of a closed connection settles on its event
    /// loop), at most 200 times.
    private func scrape(_ server: TestServer, until condition: ([MetricSample]) -> Bool) async throws -> [MetricSample] {
        var samples = try await scrape(server)
        for _ in 0..<200 where !condition(samples) {
            await Task.yield()
            try await Task.sleep(for: .milliseconds(10))
            samples = try await scrape(server)
        }
        return samples
    }

    private func value(_ samples: [MetricSample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }

    /// A server with one client READY that last pulled at revision 2 of 5, one long poll at the head,
    /// and one client that broke the protocol.
    private func withBusyServer(_ body: (TestServer) async throws -> Void) async throws {
        try await TestServer.with(articles: 5, configure: { $0.metricsAddress = MetricsAddress(port: 0) }) { server in
            try await TestClient.with(port: server.port) { behind in
                try await behind.handshake()
                _ = try await behind.pull(Pull(storeID: server.storeID, sinceRevision: 2))
                try await TestClient.with(port: server.port) { waiter in
                    try await waiter.handshake()
                    try await waiter.send(.pull(Pull(storeID: server.storeID, sinceRevision: 5, waitMillis: 60_000)))
                    await waitUntil { server.server.notifier.waitingCount == 1 }
                    try await TestClient.with(port: server.port) { rude in
                        try await rude.handshake()
                        try await rude.send(.pong(nonce: 1))
                        _ = try await rude.receiveUntilClosed()
                    }
                    try await body(server)
                }
            }
        }
    }

    @Test func aScrapeShowsConnectionStatesLongPollsErrorsByCodeTheStoreAndEachClientsLag() async throws {
        try await withBusyServer { server in
            let samples = try await scrape(server) { self.value($0, "articlesync_connections", ["state": "handshake"]) == 0 }
            #expect(value(samples, "articlesync_long_polls_waiting") == 1)
            #expect(value(samples, "articlesync_connections", ["state": "long_poll"]) == 1)
            #expect(value(samples, "articlesync_connections", ["state": "idle"]) == 1)
            #expect(value(samples, "articlesync_connections", ["state": "busy"]) == 0)
            #expect(value(samples, "articlesync_connections", ["state": "handshake"]) == 0)
            #expect(value(samples, "articlesync_errors_total", ["code": "UNEXPECTED_MESSAGE"]) == 1)
            #expect(value(samples, "articlesync_store_head_revision") == 5)
            #expect(value(samples, "articlesync_store_horizon_revision") == 0)
            #expect(value(samples, "articlesync_pulls_total") == 1)
            #expect((value(samples, "articlesync_bytes_out_total") ?? 0) > 0)
            #expect((value(samples, "articlesync_bytes_in_total") ?? 0) > 0)
            let lags = samples.filter { $0.name == "articlesync_client_lag_revisions" }
            #expect(lags.map(\.value).sorted() == [0, 3])
            #expect(lags.allSatisfy { $0.labels["token"] == "anonymous" && $0.labels["peer"]?.hasPrefix("127.0.0.1:") == true })
            let behind = try #require(lags.first { $0.value == 3 })
            #expect((value(samples, "articlesync_client_lag_seconds", ["peer": behind.labels["peer"]!]) ?? -1) >= 0)

            // A change wakes the long poll: one wake-up, one tail read, one latency recorded.
            try await TestClient.with(port: server.port) { writer in
                try await writer.handshake()
                let entry = PushEntry(id: "fresh", expectedRevision: 0, operation: .put(source: ByteBuffer(bytes: Fixtures.source(index: 9))))
                _ = try await writer.request(.push(Push(entries: [entry])))
            }
            let woken = try await scrape(server) { self.value($0, "articlesync_wakeup_latency_seconds_count") == 1 }
            #expect(value(woken, "articlesync_wakeups_total") == 1)
            #expect(value(woken, "articlesync_tail_reads_total") == 1)
            #expect(value(woken, "articlesync_wakeup_latency_seconds_count") == 1)
            #expect(value(woken, "articlesync_pushes_total") == 1)
            #expect(value(woken, "articlesync_store_head_revision") == 6)
            #expect(woken.contains { $0.name == "articlesync_wakeup_latency_seconds_bucket" && $0.labels["le"] == "+Inf" && $0.value == 1 })
        }
    }

    @Test func anythingButGetMetricsIsNotFound() async throws {
        try await TestServer.with(configure: { $0.metricsAddress = MetricsAddress(port: 0) }) { server in
            let port = try #require(server.server.metricsLocalAddress?.port)
            await #expect(throws: MetricsScrapeError.self) {
                _ = try await MetricsScrape.fetch(host: "127.0.0.1", port: port, path: "/")
            }
        }
    }

    @Test func withoutAMetricsAddressNoEndpointIsServed() async throws {
        try await TestServer.with { server in
            #expect(server.server.metricsLocalAddress == nil)
        }
    }

    @Test func statusPrintsConnectionsErrorsAndTheLaggingClientsOfARunningServer() async throws {
        try await withBusyServer { server in
            _ = try await scrape(server) { self.value($0, "articlesync_connections", ["state": "handshake"]) == 0 }
            let port = try #require(server.server.metricsLocalAddress?.port)
            let status = try ChildProcess(Binaries.server, ["status", "--metrics-address", "127.0.0.1:\(port)"])
            #expect(try await status.wait(timeout: .seconds(60)) == 0, "stderr: \(status.stderr)")
            let screen = status.stdout
            #expect(screen.contains("head 5, horizon 0"), "\(screen)")
            #expect(screen.contains("2 open: 1 long poll, 0 busy, 1 idle, 0 handshake"), "\(screen)")
            #expect(screen.contains("UNEXPECTED_MESSAGE 1"), "\(screen)")
            #expect(screen.contains("2 have pulled; 1 behind the head"), "\(screen)")
            #expect(screen.split(separator: "\n").contains { $0.contains("anonymous") && $0.contains("127.0.0.1:") && $0.contains(" 3 ") }, "\(screen)")
        }
    }

    @Test func statusWithoutAnEndpointReadsTheStore() async throws {
        try await TestServer.with(articles: 4) { server in
            let status = try ChildProcess(Binaries.server, ["status", "--store", server.directory + "/store.sqlite"])
            #expect(try await status.wait(timeout: .seconds(60)) == 0, "stderr: \(status.stderr)")
            #expect(status.stdout.contains("head          4"), "\(status.stdout)")
            #expect(status.stdout.contains("articles      4"), "\(status.stdout)")
        }
    }

    @Test func statusNamesWhatItNeedsAndAnEndpointThatDoesNotAnswer() async throws {
        let bare = try ChildProcess(Binaries.server, ["status"])
        #expect(try await bare.wait(timeout: .seconds(60)) != 0)
        #expect(bare.stderr.contains("--metrics-address"), "\(bare.stderr)")

        // A port nothing listens on: bind one, learn it, close it.
        let closedPort = try await TestServer.withFreePortThenClosed()
        let unreachable = try ChildProcess(Binaries.server, ["status", "--metrics-address", "127.0.0.1:\(closedPort)"])
        #expect(try await unreachable.wait(timeout: .seconds(60)) != 0)
        #expect(unreachable.stderr.contains("cannot read the metrics at 127.0.0.1:\(closedPort)"), "\(unreachable.stderr)")
    }
}

extension TestServer {
    /// A loopback port that was free a moment ago and that nothing listens on now.
    static func withFreePortThenClosed() async throws -> Int {
        var port = 0
        try await TestServer.with(configure: { $0.metricsAddress = MetricsAddress(port: 0) }) { server in
            port = server.server.metricsLocalAddress?.port ?? 0
        }
        return port
    }
}
