import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

extension ArticleSyncServer {
    /// Binds the listening socket. Each accepted connection gets its pipeline here and is served by
    /// its `ConnectionHandler` on its event loop; no task runs for it until a request needs one.
    func bind(context: ServerContext) async throws -> any Channel {
        let configuration = self.configuration
        var bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // NIO keeps each channel's last receive buffer for the next read: a parked follower then
            // holds that much for its whole wait, and so does a peer that floods the server. Requests
            // but PUSH are a few dozen bytes; a connection granted WRITE reads larger (Connection.start).
            .childChannelOption(.recvAllocator, value: Connection.smallReads)
            // One read per readable event, so that a connection out of input budget (or inflating a
            // frame) stops after one buffer, not four.
            .childChannelOption(.maxMessagesPerRead, value: 1)
        if let size = configuration.sendBufferSize {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(size))
        }
        return try await bootstrap
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.initialize(channel, context: context)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
    }

    private static func initialize(_ channel: any Channel, context: ServerContext) throws {
        let configuration = context.configuration
        let counters = ConnectionCounters(server: context.statistics)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ByteCountingHandler(counters: counters))
        if let tlsContext = configuration.tlsContext {
            // Puts TLS in front of the codec, or answers TLS_REQUIRED in plain text (§10).
            try pipeline.addHandler(TransportSniffingHandler(tlsContext: tlsContext, logger: context.logger))
        }
        // In place of the codec's MessageToByteHandler: it passes the tail broadcaster's shared
        // bytes as they are and holds no buffer while the connection waits.
        let encoder = ServerFrameHandler(metrics: context.metrics)
        try pipeline.addHandler(encoder)
        let peer = channel.remoteAddress?.loggable ?? "unknown"
        guard context.registry.register(channel) else {
            try pipeline.addHandler(RefusingHandler(error: refusal(context: context, peer: peer)))
            return
        }
        let opened = open(peer: peer, context: context)
        let connection = Connection(channel: channel, server: context, counters: counters, peer: peer)
        try pipeline.addHandler(ConnectionHandler(connection: connection, encoder: encoder) {
            closed(channel, counters: counters, peer: peer, context: context, started: opened)
        })
    }

    private static func open(peer: String, context: ServerContext) -> ContinuousClock.Instant {
        context.statistics.update {
            $0.connectionsAccepted += 1
            $0.activeConnections += 1
            $0.peakConnections = max($0.peakConnections, $0.activeConnections)
        }
        context.logger.naming(peer: peer).debug("connection accepted")
        return ContinuousClock.now
    }

    private static func closed(
        _ channel: any Channel, counters: ConnectionCounters, peer: String, context: ServerContext, started: ContinuousClock.Instant
    ) {
        let values = counters.values
        let millis = (ContinuousClock.now - started).components
        context.logger.naming(peer: peer).info(
            "connection closed peer=\(peer) bytesIn=\(values.bytesIn) bytesOut=\(values.bytesOut) requests=\(values.requests) durationMs=\(millis.seconds * 1000 + millis.attoseconds / 1_000_000_000_000_000)")
        // Last: a server that stops waits for the registry to empty, and the line above must be out by then.
        context.registry.deregister(channel)
        context.metrics.closed(channel)
        context.statistics.update { $0.activeConnections -= 1 }
        MemoryRelease.afterConnectionEnded()
    }

    private static func refusal(context: ServerContext, peer: String) -> ErrorMessage {
        context.statistics.update { $0.connectionsRefused += 1 }
        if context.registry.isShuttingDown {
            return ErrorMessage(code: .shuttingDown, message: "the server is shutting down")
        }
        context.logger.naming(peer: peer).warning("refused: TOO_MANY_CONNECTIONS (limit \(context.configuration.maxConnections))")
        return ErrorMessage(
            code: .tooManyConnections,
            message: "the server serves at most \(context.configuration.maxConnections) connections at once; try again later")
    }
}

/// A connection over the limit, or accepted while the server stops: its ERROR, then the close, a
/// second later at the latest (a peer that reads nothing does not hold it open). It reads nothing.
private final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let error: ErrorMessage

    init(error: ErrorMessage) {
        self.error = error
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        context.writeAndFlush(NIOAny(ServerMessage.error(error))).whenComplete { _ in channel.close(promise: nil) }
        channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
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
        // Off the event loop that closed the connection: the walk takes milliseconds on a large heap.
        if due { Task.detached(priority: .background) { Allocator.releaseFreeMemory() } }
    }
}
