import ArticleModel
import ArticleSyncProtocol
import NIOCore
import NIOPosix

/// A minimal client built on the codec alone: it sends typed messages or raw bytes and reads typed
/// messages, so tests can speak the protocol correctly or break it on purpose.
final class TestClient {
    typealias Channel = NIOAsyncChannel<ServerMessage, ByteBuffer>

    private var inbound: NIOAsyncChannelInboundStream<ServerMessage>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any NIOCore.Channel

    private init(inbound: NIOAsyncChannelInboundStream<ServerMessage>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any NIOCore.Channel) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.channel = channel
    }

    /// Connects to the server on loopback and runs `body`; the connection is closed afterwards.
    /// `slowReader` shrinks the socket's receive buffer and the queue of decoded messages to almost
    /// nothing, so whatever the test has not read yet stays on the server's side of the connection.
    static func with<T>(port: Int, slowReader: Bool = false, _ body: (TestClient) async throws -> T) async throws -> T {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if slowReader { bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: 4_096) }
        let asyncChannel = try await bootstrap
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ServerMessageDecoder()))
                    let backPressure = slowReader
                        ? NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 1, highWatermark: 2)
                        : NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 2, highWatermark: 10)
                    return try Channel(wrappingChannelSynchronously: channel, configuration: .init(backPressureStrategy: backPressure))
                }
            }
        return try await asyncChannel.executeThenClose { inbound, outbound in
            try await body(TestClient(inbound: inbound, outbound: outbound, channel: asyncChannel.channel))
        }
    }

    func send(_ message: ClientMessage) async throws {
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        try await outbound.write(buffer)
    }

    func sendRaw(_ bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    /// The next message; nil once the server closed the connection.
    func receive() async throws -> ServerMessage? {
        try await inbound.next()
    }

    /// Reads until the server closes; returns what came before the close.
    func receiveUntilClosed() async throws -> [ServerMessage] {
        var messages: [ServerMessage] = []
        do {
            while let message = try await inbound.next() { messages.append(message) }
        } catch is ChannelError {
            // Reset by the peer after its ERROR: the close is what we waited for.
        }
        return messages
    }

    /// HELLO and WELCOME.
    @discardableResult
    func handshake(features: Features = .all, minVersion: UInt16 = 1, maxVersion: UInt16 = 1) async throws -> Welcome {
        try await send(.hello(Hello(minVersion: minVersion, maxVersion: maxVersion, features: features, agent: "server-tests/1")))
        let answer = try await receive()
        guard case .welcome(let welcome) = answer else { throw TestFailure("expected WELCOME, got \(String(describing: answer))") }
        return welcome
    }

    struct PullResponse {
        var batches: [Batch]
        /// CAUGHT_UP, SNAPSHOT_REQUIRED or ERROR.
        var end: ServerMessage

        var changes: [Change] { batches.flatMap(\.changes) }
        var caughtUpAt: UInt64? {
            if case .caughtUp(let head) = end { return head }
            return nil
        }
    }

    /// Sends PULL and reads its complete response.
    func pull(_ pull: Pull) async throws -> PullResponse {
        try await send(.pull(pull))
        var batches: [Batch] = []
        while let message = try await receive() {
            switch message {
            case .batch(let batch): batches.append(batch)
            case .caughtUp, .snapshotRequired, .error: return PullResponse(batches: batches, end: message)
            default: throw TestFailure("unexpected \(message) in a pull response")
            }
        }
        throw TestFailure("the server closed during a pull")
    }

    /// Sends a request and reads its one-message response.
    func request(_ message: ClientMessage) async throws -> ServerMessage {
        try await send(message)
        guard let answer = try await receive() else { throw TestFailure("the server closed instead of answering \(message.name)") }
        return answer
    }
}
