import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

extension ArticleSyncServer {
    typealias ChildChannel = NIOAsyncChannel<ConnectionEvent, ServerMessage>

    /// An accepted connection, the counters its byte-counting handler writes to, and the frame rules
    /// its decoder applies.
    struct Accepted: Sendable {
        var channel: ChildChannel
        var counters: ConnectionCounters
        var frameRules: FrameRulesBox
    }

    func bind(context: ServerContext) async throws -> NIOAsyncChannel<Accepted, Never> {
        let configuration = self.configuration
        var bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // NIO keeps each channel's last receive buffer for the next read: a parked follower then
            // holds that much for its whole wait. Requests but PUSH are a few dozen bytes; a PUSH's
            // reads grow to its size within a few reads.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536))
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
                        channel: try ChildChannel(wrappingChannelSynchronously: channel), counters: counters, frameRules: frameRules)
                }
            }
    }

    /// Serves one accepted connection to its end. Never throws: whatever one client does, the server
    /// goes on serving the others.
    func handle(_ accepted: Accepted, context: ServerContext) async {
        let asyncChannel = accepted.channel
        let counters = accepted.counters
        let channel = asyncChannel.channel
        let peer = channel.remoteAddress?.loggable ?? "unknown"
        let logger = {
            var logger = context.logger
            logger[metadataKey: "peer"] = "\(peer)"
            return logger
        }()
        let started = ContinuousClock.now

        guard context.registry.register(channel) else {
            await refuse(asyncChannel, context: context, logger: logger)
            return
        }
        context.statistics.update {
            $0.connectionsAccepted += 1
            $0.activeConnections += 1
            $0.peakConnections = max($0.peakConnections, $0.activeConnections)
        }
        logger.debug("connection accepted")
        defer {
            context.registry.deregister(channel)
            context.metrics.closed(channel)
            context.statistics.update { $0.activeConnections -= 1 }
            MemoryRelease.afterConnectionEnded()
        }

        // The conversation runs beside a watcher of the channel's close: when the peer goes away in the
        // middle of a long poll or a store read, the conversation is cancelled instead of finishing
        // work nobody will read.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await asyncChannel.executeThenClose { inbound, _ in
                        var connection = Connection(
                            channel: channel, server: context, counters: counters, frameRules: accepted.frameRules, logger: logger)
                        await connection.run(inbound: inbound)
                    }
                } catch is CancellationError {
                    logger.debug("conversation cancelled: the peer went away")
                } catch {
                    logger.debug("connection ended: \(error)")
                }
                channel.close(promise: nil)
            }
            group.addTask {
                try? await channel.closeFuture.get()
            }
            await group.next()
            group.cancelAll()
        }

        let values = counters.values
        let millis = (ContinuousClock.now - started).components
        logger.info(
            "connection closed peer=\(peer) bytesIn=\(values.bytesIn) bytesOut=\(values.bytesOut) requests=\(values.requests) durationMs=\(millis.seconds * 1000 + millis.attoseconds / 1_000_000_000_000_000)")
    }

    private func refuse(_ asyncChannel: ChildChannel, context: ServerContext, logger: Logger) async {
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

/// Returns freed memory to the system after connections end, at most once a second: malloc_trim
/// walks the whole heap, and thousands of connections ending at once would each pay for a walk.
enum MemoryRelease {
    private static let last = Mutex<ContinuousClock.Instant?>(nil)

    static func afterConnectionEnded() {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, now - previous < .seconds(1) { return false }
            last = now
            return true
        }
        if due { Allocator.releaseFreeMemory() }
    }
}
