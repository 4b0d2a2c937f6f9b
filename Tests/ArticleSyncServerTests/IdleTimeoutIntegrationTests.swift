import ArticleStore
import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import Testing

/// PROTOCOL.md §4.3: the idle timeout runs only in READY. A response still on its way to a slow reader
/// is BUSY time, however long the reader takes.
@Suite("idle timeout against a real server on loopback")
struct IdleTimeoutIntegrationTests {
    /// About 2 KB each on the wire, one per batch at the smallest budget.
    static func prepare(_ articles: Int) -> @Sendable (SQLiteCanonicalStore) async throws -> Void {
        { store in _ = try await store.apply((1...articles).map { Fixtures.put(id: "article-\($0)", index: $0, noiseWords: 300) }) }
    }

    /// The server has handed the whole response to the kernel, which holds most of it for a reader that
    /// takes nothing: the idle timeout must wait until the kernel has delivered it.
    @Test func aResponseWaitingInTheKernelForASlowReaderIsNotIdleTime() async throws {
        let articles = 40
        try await TestServer.with(configure: {
            $0.idleTimeout = .milliseconds(300)
            // A fixed buffer far larger than the response, so the server finishes whatever the kernel's
            // autotuning would have chosen (left alone, it may hold less on a loaded machine).
            $0.sendBufferSize = 1 << 20
        }, prepare: Self.prepare(articles)) { server in
            try await TestClient.with(port: server.port, slowReader: true) { reader in
                try await reader.handshake()
                try await reader.send(.pull(Pull(storeID: .none, sinceRevision: 0, budget: ProtocolLimits.minBudget)))
                try await waitUntil("the server to finish the pull") { server.server.statistics.snapshot().pulls == 1 }
                try await Self.outlastIdleTimeout(port: server.port)
                #expect(try await Self.readResponse(reader) == articles)
                // READY only now: the next request is answered, not refused as late.
                #expect(try await reader.request(.ping(nonce: 7)) == .pong(nonce: 7))
            }
        }
    }

    /// A response far larger than the kernel holds: the server is still streaming, waiting for the reader,
    /// when the idle timeout passes.
    @Test func aSlowReaderOfALongPullIsNotClosedAsIdle() async throws {
        let articles = 400
        try await TestServer.with(configure: { $0.idleTimeout = .milliseconds(300) }, prepare: Self.prepare(articles)) { server in
            try await TestClient.with(port: server.port, slowReader: true) { reader in
                try await reader.handshake()
                try await reader.send(.pull(Pull(storeID: .none, sinceRevision: 0, budget: ProtocolLimits.minBudget)))
                try await waitUntil("the first batch") { server.server.statistics.snapshot().batches >= 1 }
                try await Self.outlastIdleTimeout(port: server.port)
                #expect(try await Self.readResponse(reader) == articles)
                #expect(try await reader.request(.ping(nonce: 7)) == .pong(nonce: 7))
            }
        }
    }

    /// A second connection is the clock: once its idle timeout has passed, so has that of any connection
    /// whose idle timeout started before it.
    static func outlastIdleTimeout(port: Int) async throws {
        try await TestClient.with(port: port) { clock in
            try await clock.handshake()
            #expect(LimitsIntegrationTests.fatalError(of: try await clock.receiveUntilClosed()) == .idleTimeout)
        }
    }

    /// Reads BATCHes up to CAUGHT_UP; returns the number of changes.
    static func readResponse(_ reader: TestClient) async throws -> Int {
        var changes = 0
        while let message = try await reader.receive() {
            switch message {
            case .batch(let batch): changes += batch.changes.count
            case .caughtUp: return changes
            default: throw TestFailure("expected BATCH or CAUGHT_UP, got \(message)")
            }
        }
        throw TestFailure("the server closed the connection after \(changes) changes")
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
