import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import Testing

/// PROTOCOL.md §4.3: the idle timeout runs only in READY. A response still on its way to a slow reader
/// is BUSY time, however long the reader takes.
@Suite("idle timeout against a real server on loopback")
struct IdleTimeoutIntegrationTests {
    static let articles = 40

    @Test func aSlowReaderOfALongPullIsNotClosedAsIdle() async throws {
        try await TestServer.with(configure: { $0.idleTimeout = .milliseconds(300) }, prepare: { store in
            // About 2 KB each on the wire, one per batch at the smallest budget: far more than the
            // slow reader's socket holds.
            _ = try await store.apply((1...Self.articles).map { Fixtures.put(id: "article-\($0)", index: $0, noiseWords: 300) })
        }) { server in
            try await TestClient.with(port: server.port, slowReader: true) { reader in
                try await reader.handshake()
                try await reader.send(.pull(Pull(storeID: .none, sinceRevision: 0, budget: ProtocolLimits.minBudget)))
                // The server has handed the whole response to its side of the connection; the reader has
                // read at most a few batches of it.
                try await waitUntil("the server to finish the pull") { server.server.statistics.snapshot().pulls == 1 }
                // A second connection is the clock: once its idle timeout has passed, so has the reader's
                // idle timeout, had it started when the response was handed over.
                try await TestClient.with(port: server.port) { clock in
                    try await clock.handshake()
                    #expect(LimitsIntegrationTests.fatalError(of: try await clock.receiveUntilClosed()) == .idleTimeout)
                }
                var changes = 0
                reading: while let message = try await reader.receive() {
                    switch message {
                    case .batch(let batch): changes += batch.changes.count
                    case .caughtUp: break reading
                    default: throw TestFailure("expected BATCH or CAUGHT_UP, got \(message)")
                    }
                }
                #expect(changes == Self.articles)
                // READY only now: the next request is answered, not refused as late.
                #expect(try await reader.request(.ping(nonce: 7)) == .pong(nonce: 7))
            }
        }
    }
}

/// Polls `condition` until it holds; fails after `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("gave up waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
