import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

extension ArticleSyncServer {
    typealias ChildChannel = NIOAsyncChannel<ConnectionEvent, ServerMessage>

    /// An accepted connection, the counters its byte-counting handler writes to, the frame rules
    /// its decoder applies, and the peer's address for the logs (a closed channel no longer has it).
    struct Accepted: Sendable {
        var channel: ChildChannel
        var counters: ConnectionCounters
        var frameRules: FrameRulesBox
        var peer: String
    }

    func bind(context: ServerContext) async throws -> NIOAsyncChannel<Accepted, Never> {
        let configuration = self.configuration
        var bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // NIO keeps each channel's last receive buffer for the next read: a parked follower then
            // holds that much for its whole wait, and so does a peer that floods the server. Requests
            // but PUSH are a few dozen bytes; a connection granted WRITE reads larger (Connection.start).
            .childChannelOption(.recvAllocator, value: Connection.smallReads)
        if let size = configuration.sendBufferSize {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(size))
        }
        return try await bootstrap
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let counters = ConnectionCounters(server: context.statistics)
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ByteCountingHandler(counters: counters))
                    if let tlsContext = configuration.tlsContext {
                        // Puts TLS in front of the codec, or answers TLS_REQUIRED in plain text (§10).
                        try pipeline.addHandler(TransportSniffingHandler(tlsContext: tlsContext, logger: context.logger))
                    }
                    // The conversation tightens and loosens these as its state changes.
                    let frameRules = FrameRulesBox(.handshake(refusesTLSRecord: configuration.tlsContext == nil))
                    try pipeline.addHandler(ByteToMessageHandler(ClientFrameDecoder(rules: frameRules)))
                    // In place of the codec's MessageToByteHandler: it passes the tail broadcaster's
                    // shared bytes as they are and holds no buffer while the connection waits.
                    try pipeline.addHandler(ServerFrameHandler(metrics: context.metrics))
                    try pipeline.addHandler(ConnectionEventHandler())
                    return Accepted(
                        channel: try ChildChannel(wrappingChannelSynchronously: channel), counters: counters, frameRules: frameRules,
                        peer: channel.remoteAddress?.loggable ?? "unknown")
                }
            }
    }

    /// Serves one accepted connection to its end. Never throws: whatever one client does, the server
    /// goes on serving the others. Its bookkeeping is done out of line, so that the frame this task
    /// holds while the conversation waits is small.
    func handle(_ accepted: Accepted, context: ServerContext) async {
        guard let opened = Self.open(accepted, context: context) else {
            await refuse(accepted, context: context)
            return
        }
        await Self.converse(accepted, context: context)
        Self.closed(accepted, context: context, started: opened)
    }

    @inline(never)
    private static func open(_ accepted: Accepted, context: ServerContext) -> ContinuousClock.Instant? {
        let channel = accepted.channel.channel
        guard context.registry.register(channel) else { return nil }
        context.statistics.update {
            $0.connectionsAccepted += 1
            $0.activeConnections += 1
            $0.peakConnections = max($0.peakConnections, $0.activeConnections)
        }
        context.logger.naming(peer: accepted.peer).debug("connection accepted")
        return ContinuousClock.now
    }

    /// The conversation runs in this task. A peer that goes away ends the inbound stream, and the
    /// conversation then cancels whatever request runs for it.
    @inline(never)
    private static func converse(_ accepted: Accepted, context: ServerContext) async {
        let channel = accepted.channel.channel
        do {
            try await accepted.channel.executeThenClose { inbound, _ in
                let connection = Connection(
                    channel: channel, server: context, counters: accepted.counters, frameRules: accepted.frameRules, peer: accepted.peer)
                await connection.run(inbound: inbound)
            }
        } catch is CancellationError {
            context.logger.naming(peer: accepted.peer).debug("conversation cancelled")
        } catch {
            context.logger.naming(peer: accepted.peer).debug("connection ended: \(error)")
        }
        channel.close(promise: nil)
    }

    @inline(never)
    private static func closed(_ accepted: Accepted, context: ServerContext, started: ContinuousClock.Instant) {
        let channel = accepted.channel.channel
        let values = accepted.counters.values
        let millis = (ContinuousClock.now - started).components
        context.logger.naming(peer: accepted.peer).info(
            "connection closed peer=\(accepted.peer) bytesIn=\(values.bytesIn) bytesOut=\(values.bytesOut) requests=\(values.requests) durationMs=\(millis.seconds * 1000 + millis.attoseconds / 1_000_000_000_000_000)")
        // Last: a server that stops waits for the registry to empty, and the line above must be out by then.
        context.registry.deregister(channel)
        context.metrics.closed(channel)
        context.statistics.update { $0.activeConnections -= 1 }
        MemoryRelease.afterConnectionEnded()
    }

    @inline(never)
    private func refuse(_ accepted: Accepted, context: ServerContext) async {
        let asyncChannel = accepted.channel
        let logger = context.logger.naming(peer: accepted.peer)
        context.statistics.update { $0.connectionsRefused += 1 }
        let error: ErrorMessage
        if context.registry.isShuttingDown {
            error = ErrorMessage(code: .shuttingDown, message: "the server is shutting down")
        } else {
            error = ErrorMessage(code: .tooManyConnections, message: "the server serves at most \(context.configuration.maxConnections) connections at once; try again later")
            logger.warning("refused: TOO_MANY_CONNECTIONS (limit \(context.configuration.maxConnections))")
        }
        let channel = asyncChannel.channel
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ServerMessage.error(error), promise: written)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
    }
}

extension Logger {
    /// This logger with `peer` as metadata.
    func naming(peer: String) -> Logger {
        var logger = self
        logger[metadataKey: "peer"] = "\(peer)"
        return logger
    }
}

/// Returns freed memory to the system after connections end or a large response is written, at most
/// once a second: malloc_trim walks the whole heap, and thousands of connections ending at once would
/// each pay for a walk.
enum MemoryRelease {
    private static let last = Mutex<ContinuousClock.Instant?>(nil)

    static func afterConnectionEnded() { releaseIfDue() }

    static func afterLargeResponse() { releaseIfDue() }

    private static func releaseIfDue() {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, now - previous < .seconds(1) { return false }
            last = now
            return true
        }
        if due { Allocator.releaseFreeMemory() }
    }
}
