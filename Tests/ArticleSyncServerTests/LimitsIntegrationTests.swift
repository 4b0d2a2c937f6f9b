import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import Testing

@Suite("limits, hostile peers and shutdown against a real server on loopback")
struct LimitsIntegrationTests {
    static func fatalError(of messages: [ServerMessage]) -> ErrorCode? {
        guard case .error(let error) = messages.last else { return nil }
        return error.code
    }

    @Test func aSilentPeerIsClosedAtTheHandshakeDeadline() async throws {
        try await TestServer.with(configure: { $0.handshakeTimeout = .milliseconds(200) }) { server in
            try await TestClient.with(port: server.port) { client in
                let messages = try await client.receiveUntilClosed()
                #expect(Self.fatalError(of: messages) == .handshakeTimeout)
            }
        }
    }

    @Test func aPeerTricklingItsHelloIsClosedAtTheHandshakeDeadline() async throws {
        try await TestServer.with(configure: { $0.handshakeTimeout = .milliseconds(300) }) { server in
            try await TestClient.with(port: server.port) { client in
                var hello = ByteBuffer()
                ClientMessage.hello(Hello(features: .all, agent: "slow")).encode(into: &hello)
                // A few bytes, never the whole frame.
                try await client.sendRaw(Array(hello.readableBytesView.prefix(3)))
                try await client.sendRaw(Array(hello.readableBytesView.dropFirst(3).prefix(3)))
                let messages = try await client.receiveUntilClosed()
                #expect(Self.fatalError(of: messages) == .handshakeTimeout)
            }
        }
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await TestServer.with(configure: { $0.idleTimeout = .milliseconds(200) }) { server in
            try await TestClient.with(port: server.port) { client in
                // No request after WELCOME: the only thing that may arrive is the IDLE_TIMEOUT error.
                // (A PING here would race the 200 ms deadline on a loaded machine.)
                try await client.handshake()
                let messages = try await client.receiveUntilClosed()
                #expect(messages.count == 1)
                #expect(Self.fatalError(of: messages) == .idleTimeout)
            }
        }
    }

    @Test func aLongPollDoesNotCountAsIdle() async throws {
        // The idle timeout only has to be shorter than the long poll; 1 s leaves the client time to
        // send its PULL after WELCOME even on a loaded machine.
        try await TestServer.with(articles: 1, configure: { $0.idleTimeout = .seconds(1) }) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let response = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 1, waitMillis: 2_500))
                #expect(response.caughtUpAt == 1)
            }
        }
    }

    @Test func noCommonVersionIsAnsweredWithTheServersRange() async throws {
        try await TestServer.with { server in
            try await TestClient.with(port: server.port) { client in
                try await client.send(.hello(Hello(minVersion: 2, maxVersion: 5, features: [], agent: "future")))
                let messages = try await client.receiveUntilClosed()
                guard case .error(let error) = messages.last else { throw TestFailure("expected ERROR") }
                #expect(error.code == .noCommonVersion)
                #expect(error.message.contains("1-1"))
            }
        }
    }

    @Test func aRequestBeforeHelloIsUnexpected() async throws {
        try await TestServer.with { server in
            try await TestClient.with(port: server.port) { client in
                try await client.send(.pull(Pull(storeID: .none, sinceRevision: 0)))
                #expect(Self.fatalError(of: try await client.receiveUntilClosed()) == .unexpectedMessage)
            }
        }
    }

    @Test func aTLSClientHelloToAPlainServerIsMalformed() async throws {
        try await TestServer.with { server in
            try await TestClient.with(port: server.port) { client in
                try await client.sendRaw([0x16, 0x03, 0x01, 0x00, 0x40, 0x01])
                let messages = try await client.receiveUntilClosed()
                guard case .error(let error) = messages.last else { throw TestFailure("expected ERROR") }
                #expect(error.code == .malformedFrame)
                #expect(error.message.contains("TLS"))
            }
        }
    }

    @Test func aHugeLengthPrefixIsFrameTooLarge() async throws {
        try await TestServer.with { server in
            try await TestClient.with(port: server.port) { client in
                try await client.sendRaw([0xFF, 0xFF, 0xFF, 0xFF])
                #expect(Self.fatalError(of: try await client.receiveUntilClosed()) == .frameTooLarge)
            }
        }
    }

    @Test func connectionsOverTheLimitAreRefusedWithTooManyConnections() async throws {
        try await TestServer.with(configure: { $0.maxConnections = 1 }) { server in
            try await TestClient.with(port: server.port) { first in
                try await first.handshake()
                let refusal = try await TestClient.with(port: server.port) { second in
                    try await second.receiveUntilClosed()
                }
                #expect(Self.fatalError(of: refusal) == .tooManyConnections)
                #expect(try await first.request(.ping(nonce: 2)) == .pong(nonce: 2))
            }
            #expect(server.server.statistics.snapshot().connectionsRefused == 1)
        }
    }

    @Test func aPeerSendingGarbageIsClosedWhileAnotherKeepsPulling() async throws {
        try await TestServer.with(articles: 200) { server in
            try await TestClient.with(port: server.port) { puller in
                try await puller.handshake()
                try await puller.send(.pull(Pull(storeID: .none, sinceRevision: 0, budget: 4_096)))
                guard case .batch = try await puller.receive() else { throw TestFailure("expected a first batch") }

                var generator = SystemRandomNumberGenerator()
                for round in 0..<5 {
                    try await TestClient.with(port: server.port) { vandal in
                        if round > 0 { try await vandal.handshake() }
                        let garbage = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        try await vandal.sendRaw(garbage)
                        let messages = try await vandal.receiveUntilClosed()
                        guard case .error(let error) = messages.last else { throw TestFailure("expected ERROR for garbage") }
                        #expect(error.isFatal)
                    }
                }

                var changes = 0
                while let message = try await puller.receive() {
                    if case .batch(let batch) = message { changes += batch.changes.count; continue }
                    #expect(message == .caughtUp(headRevision: 200))
                    break
                }
                #expect(changes > 0)
                #expect(try await puller.request(.ping(nonce: 9)) == .pong(nonce: 9))
            }
        }
    }

    @Test func aClientThatDisconnectsMidPullLeavesTheServerServing() async throws {
        try await TestServer.with(prepare: { store in
            _ = try await store.apply((1...40).map { Fixtures.put(id: "big-\($0)", index: $0, noiseWords: 4_000) })
        }) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                try await client.send(.pull(Pull(storeID: .none, sinceRevision: 0, budget: 4_096)))
                guard case .batch = try await client.receive() else { throw TestFailure("expected a batch") }
                // Leaves without reading the rest.
            }
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let response = try await client.pull(Pull(storeID: .none, sinceRevision: 0))
                #expect(response.changes.count == 40)
                #expect(response.caughtUpAt == 40)
            }
            await waitUntil { server.server.statistics.snapshot().activeConnections == 0 }
            #expect(server.server.statistics.snapshot().activeConnections == 0)
        }
    }

    @Test func bytesAndRequestsAreCountedPerServer() async throws {
        try await TestServer.with(articles: 5) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                _ = try await client.pull(Pull(storeID: .none, sinceRevision: 0))
                _ = try await client.request(.ping(nonce: 1))
            }
            await waitUntil { server.server.statistics.snapshot().activeConnections == 0 }
            let totals = server.server.statistics.snapshot()
            #expect(totals.requests == 2)
            #expect(totals.bytesIn > 20)
            #expect(totals.bytesOut > 5 * 100)
            #expect(totals.connectionsAccepted == 1)
        }
    }

    @Test func shutdownSendsShuttingDownToIdleAndWaitingClients() async throws {
        try await TestServer.with(articles: 2) { server in
            try await TestClient.with(port: server.port) { idle in
                try await idle.handshake()
                try await TestClient.with(port: server.port) { waiting in
                    try await waiting.handshake()
                    try await waiting.send(.pull(Pull(storeID: server.storeID, sinceRevision: 2, waitMillis: 60_000)))
                    await waitUntil { server.server.notifier.waitingCount == 1 }
                    await server.shutDown()
                    #expect(Self.fatalError(of: try await idle.receiveUntilClosed()) == .shuttingDown)
                    #expect(Self.fatalError(of: try await waiting.receiveUntilClosed()) == .shuttingDown)
                }
            }
        }
    }

    @Test func aPullRunningAtShutdownFinishesWithinTheGracePeriod() async throws {
        try await TestServer.with(articles: 300, configure: { $0.shutdownGracePeriod = .seconds(20) }) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                try await client.send(.pull(Pull(storeID: .none, sinceRevision: 0, budget: 4_096)))
                guard case .batch = try await client.receive() else { throw TestFailure("expected a batch") }
                await server.shutDown()
                var messages = try await client.receiveUntilClosed()
                #expect(Self.fatalError(of: messages) == .shuttingDown)
                messages.removeLast()
                #expect(messages.last == .caughtUp(headRevision: 300))
            }
        }
    }
}
