import ArticleSyncProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Zlib

/// One connection to a server after a successful handshake. Requests are strictly sequential
/// (PROTOCOL.md §4.1): each method sends one request and reads its whole response. Not Sendable on
/// purpose: a connection belongs to the task that opened it.
public final class SyncConnection {
    public let welcome: Welcome
    public let address: ServerAddress
    private var inbound: NIOAsyncChannelInboundStream<ServerMessage>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ClientMessage>
    /// PINGs that arrived during a response; answered once it is complete (PROTOCOL.md §4.1).
    private var pendingPings: [UInt64] = []
    /// A server never sends PING in version 1, so a few are plenty. More during one response are a
    /// flood (their PONGs would pile up in memory until the response ends): they end the connection.
    static let maximumQueuedPongs = 8
    /// Set after a fatal error or a lost connection: nothing more may be sent.
    private var isBroken = false

    init(
        welcome: Welcome,
        address: ServerAddress,
        inbound: NIOAsyncChannelInboundStream<ServerMessage>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ClientMessage>
    ) {
        self.welcome = welcome
        self.address = address
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Connects, says HELLO, runs `body` with the connection, and closes it whatever happens.
    /// With `configuration.tls`, the connection runs inside TLS and the server's certificate is
    /// checked as the user chose (Security/TrustedConnector.swift).
    public static func withConnection<Result>(
        _ configuration: ClientConfiguration,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (SyncConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try TokenTransportPolicy.check(
            tokenPresent: !configuration.token.isEmpty, tlsEnabled: configuration.tls != nil, address: configuration.address)
        guard let tls = configuration.tls else {
            return try await withConnection(configuration, tls: nil, body)
        }
        return try await TrustedConnector.run(tls, address: configuration.address) { attempt in
            try await withConnection(configuration, tls: attempt, body)
        }
    }

    private static func withConnection<Result>(
        _ configuration: ClientConfiguration,
        tls: TLSAttempt?,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (SyncConnection) async throws -> sending Result
    ) async throws -> sending Result {
        let channel = try await connect(configuration, tls: tls)
        let deadline = HandshakeDeadline(channel.channel, after: configuration.handshakeTimeout)
        return try await channel.executeThenClose { inbound, outbound in
            let address = configuration.address
            var iterator = inbound.makeAsyncIterator()
            let hello = Hello(features: configuration.features, token: configuration.token, agent: configuration.agent)
            let welcome: Welcome
            do {
                try await outbound.write(.hello(hello))
                switch try await iterator.next() {
                case .welcome(let value)?: welcome = value
                case .error(let error)?: throw ClientError.refused(error)
                case nil: throw ClientError.connectionLost(address, "the server closed the connection during the handshake")
                case let other?: throw ClientError.protocolViolation("expected WELCOME, got \(other.name)")
                }
                deadline.cancel()
            } catch {
                deadline.cancel()
                throw deadline.describe(error, address: address)
            }
            guard welcome.version == ProtocolLimits.version else {
                throw ClientError.protocolViolation("the server chose protocol version \(welcome.version), we speak 1")
            }
            let connection = SyncConnection(welcome: welcome, address: address, inbound: iterator, outbound: outbound)
            return try await body(connection)
        }
    }

    private static func connect(_ configuration: ClientConfiguration, tls: TLSAttempt?) async throws -> NIOAsyncChannel<ServerMessage, ClientMessage> {
        let address = configuration.address
        let readTimeout = TimeAmount(configuration.readTimeout)
        let frameTimeout = TimeAmount(configuration.frameTimeout)
        let compressPushes = configuration.compressPushes
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try tls?.installHandlers(on: channel)
                        try channel.pipeline.syncOperations.addHandlers([
                            IdleStateHandler(readTimeout: readTimeout),
                            ReadTimeoutHandler(frameTimeout: frameTimeout),
                        ])
                        try SyncConnection.installCodec(on: channel, compressPushes: compressPushes)
                        return try NIOAsyncChannel<ServerMessage, ClientMessage>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 6))
                        )
                    }
                }
        } catch {
            throw ClientError.unreachable(address, describeConnectFailure(error))
        }
    }

    // MARK: requests

    /// Sends one request frame.
    func send(_ message: ClientMessage) async throws {
        guard !isBroken else { throw ClientError.connectionLost(address) }
        do {
            try await outbound.write(message)
        } catch {
            isBroken = true
            throw ClientError.describing(error, address: address)
        }
    }

    /// The next frame of the current response. PINGs are queued; ERROR frames are thrown.
    func receive() async throws -> ServerMessage {
        guard !isBroken else { throw ClientError.connectionLost(address) }
        while true {
            let message: ServerMessage?
            do {
                message = try await inbound.next()
            } catch {
                isBroken = true
                throw ClientError.describing(error, address: address)
            }
            switch message {
            case nil:
                isBroken = true
                throw ClientError.connectionLost(address, "the server closed the connection")
            case .ping(let nonce)?:
                guard pendingPings.count < Self.maximumQueuedPongs else {
                    isBroken = true
                    throw ClientError.protocolViolation(
                        "more than \(Self.maximumQueuedPongs) PINGs during one response (a server sends none, PROTOCOL.md §4.1)")
                }
                pendingPings.append(nonce)
            case .error(let error)?:
                if error.isFatal { isBroken = true }
                throw ClientError.refused(error)
            case let message?:
                return message
            }
        }
    }

    /// Marks the end of a response: answers PINGs that arrived during it.
    func responseComplete() async throws {
        let pings = pendingPings
        pendingPings.removeAll()
        for nonce in pings { try await send(.pong(nonce: nonce)) }
    }

    /// Sends PULL; read its response with `nextPullEvent()` until it returns a final event.
    public func startPull(_ pull: Pull) async throws {
        try await send(.pull(pull))
    }

    public enum PullEvent: Sendable {
        case batch(Batch)
        case caughtUp(headRevision: UInt64)
        case snapshotRequired(SnapshotRequired)
    }

    public func nextPullEvent() async throws -> PullEvent {
        let message = try await receive()
        switch message {
        case .batch(let batch):
            try checkRevision(batch.toRevision, of: "BATCH")
            return .batch(batch)
        case .caughtUp(let head):
            try checkRevision(head, of: "CAUGHT_UP")
            try await responseComplete()
            return .caughtUp(headRevision: head)
        case .snapshotRequired(let snapshot):
            try await responseComplete()
            return .snapshotRequired(snapshot)
        default:
            isBroken = true
            throw ClientError.protocolViolation("expected BATCH, CAUGHT_UP or SNAPSHOT_REQUIRED, got \(message.name)")
        }
    }

    /// Revisions are u64 on the wire, but no store (SQLite's signed integers) can record one above
    /// 2^63-1: such a value is bad data from the server, not a failure of the replica.
    private func checkRevision(_ revision: UInt64, of message: String) throws {
        guard revision > UInt64(Int64.max) else { return }
        isBroken = true
        throw ClientError.protocolViolation("\(message) at revision \(revision), beyond the largest revision a store can hold (\(Int64.max))")
    }

    public func push(_ push: Push) async throws -> PushResult {
        try await send(.push(push))
        let message = try await receive()
        guard case .pushResult(let result) = message else {
            isBroken = true
            throw ClientError.protocolViolation("expected PUSH_RESULT, got \(message.name)")
        }
        guard result.results.count == push.entries.count else {
            isBroken = true
            throw ClientError.protocolViolation("PUSH_RESULT has \(result.results.count) results for \(push.entries.count) entries")
        }
        try await responseComplete()
        return result
    }

    public func verify(atRevision revision: UInt64) async throws -> VerifyResult {
        try await send(.verify(atRevision: revision))
        let message = try await receive()
        guard case .verifyResult(let result) = message else {
            isBroken = true
            throw ClientError.protocolViolation("expected VERIFY_RESULT, got \(message.name)")
        }
        try await responseComplete()
        try Self.check(result, answers: revision)
        return result
    }

    /// PROTOCOL.md §5.10: OK describes the revision asked for (any revision when asked for the head);
    /// AHEAD_OF_HEAD names a head below it. A count or digest of another revision would make a
    /// verify or the mass-deletion guard compare the wrong things.
    static func check(_ result: VerifyResult, answers revision: UInt64) throws {
        switch result.status {
        case .ok where revision != VerifyResult.headRevision && result.revision != revision:
            throw ClientError.protocolViolation("VERIFY_RESULT describes revision \(result.revision), not revision \(revision) as asked")
        case .aheadOfHead where result.revision >= revision:
            throw ClientError.protocolViolation("VERIFY_RESULT says revision \(revision) is ahead of the head, but names head \(result.revision)")
        default:
            return
        }
    }

    /// Fetches a store dictionary and checks that its Adler-32 is the id (PROTOCOL.md §5.12).
    public func dictionary(id: UInt32) async throws -> [UInt8] {
        try await send(.getDictionary(id: id))
        let message = try await receive()
        guard case .dictionary(let dictionary) = message else {
            isBroken = true
            throw ClientError.protocolViolation("expected DICTIONARY, got \(message.name)")
        }
        try await responseComplete()
        let bytes = Array(dictionary.bytes.readableBytesView)
        guard dictionary.id == id, Zlib.adler32(bytes) == id else {
            isBroken = true
            throw ClientError.protocolViolation("dictionary \(String(id, radix: 16)) does not match its id")
        }
        return bytes
    }
}

/// Closes a connection whose TLS handshake, HELLO and WELCOME are not done in time. A port that
/// belongs to another service often answers nothing we can frame, or nothing at all: such a peer
/// is named as not an articlesync server within the deadline, not after the read timeout.
final class HandshakeDeadline: Sendable {
    private let timeout: Duration
    private let expired = NIOLockedValueBox(false)
    private let task: Scheduled<Void>

    init(_ channel: any Channel, after timeout: Duration) {
        self.timeout = timeout
        let expired = self.expired
        task = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            expired.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
    }

    func cancel() { task.cancel() }

    /// The sentence for a failed handshake: the deadline and bytes that are not our frames name
    /// the peer as another service; anything else is described as usual.
    func describe(_ error: any Error, address: ServerAddress) -> ClientError {
        if expired.withLockedValue({ $0 }) {
            return ClientError(
                .unavailable,
                "\(address) did not complete the articlesync handshake within \(formatted(timeout)): it is not an articlesync server (another service on that port?) or it is overloaded. Check --server and its port (\(ProtocolLimits.defaultPort) unless given)")
        }
        if let error = error as? ProtocolError {
            return ClientError(
                .unavailable,
                "\(address) is not an articlesync server: its answer to HELLO is not an articlesync frame (\(error.description)). Check --server and its port (\(ProtocolLimits.defaultPort) unless given)")
        }
        return ClientError.describing(error, address: address)
    }

    private func formatted(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
