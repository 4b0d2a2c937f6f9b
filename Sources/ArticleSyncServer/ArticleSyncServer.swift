import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The articlesync server: accepts connections and serves one store (PROTOCOL.md). Run it under a
/// `ServiceGroup`: on graceful shutdown (SIGTERM, SIGINT) it stops accepting, lets running responses
/// finish within `shutdownGracePeriod`, sends SHUTTING_DOWN to idle clients, and returns once every
/// connection is closed. The store belongs to the caller, who closes it after `run()` returns.
public final class ArticleSyncServer: Service, Sendable {
    public let configuration: ServerConfiguration
    public let statistics = ServerStatistics()
    /// What the metrics endpoint shows (`ServerConfiguration.metricsAddress`).
    public let metrics = ServerMetrics()
    /// Wakes long polls. Call `notifier.publish(head:)` after writing to the store in this process
    /// outside the server (an import); pushes publish by themselves.
    public let notifier: RevisionNotifier

    private let store: any CanonicalStore
    let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let onListening: @Sendable (SocketAddress) async -> Void
    private let listeningAddress = NIOLockedValueBox<SocketAddress?>(nil)
    private let metricsListeningAddress = NIOLockedValueBox<SocketAddress?>(nil)

    /// `onListening` runs once the socket is bound (with the port chosen for port 0), before the first
    /// connection is accepted.
    public init(
        configuration: ServerConfiguration,
        store: any CanonicalStore,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "articlesyncd"),
        onListening: @escaping @Sendable (SocketAddress) async -> Void = { _ in }
    ) async throws {
        self.configuration = configuration
        self.store = store
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onListening = onListening
        self.notifier = RevisionNotifier(head: try await store.snapshot().head)
    }

    /// The bound address once `run()` listens.
    public var localAddress: SocketAddress? { listeningAddress.withLockedValue { $0 } }

    /// The bound address of the metrics endpoint once `run()` listens, when one is configured.
    public var metricsLocalAddress: SocketAddress? { metricsListeningAddress.withLockedValue { $0 } }

    public func run() async throws {
        let registry = ConnectionRegistry(limit: connectionLimit())
        let countedStore = CountingStore(base: store, statistics: statistics)
        let dictionaries = DictionaryCache(store: countedStore)
        let tail = TailBroadcaster(store: countedStore, dictionaries: dictionaries, statistics: statistics, metrics: metrics, logger: logger)
        notifier.attach(tail)
        var served = configuration
        served.authenticator = TokenNamingAuthenticator(base: configuration.authenticator, metrics: metrics)
        let context = ServerContext(
            configuration: served, store: countedStore, storeID: store.storeID, notifier: notifier,
            tail: tail, metrics: metrics, statistics: statistics, registry: registry, dictionaries: dictionaries,
            inflation: InflationBudget(capacity: max(configuration.inflationBudget, Int(ProtocolLimits.maxHelloFrameLength))),
            input: ByteBudget(capacity: max(configuration.inputBudget, Int(ProtocolLimits.maxHelloFrameLength))),
            logger: logger)
        let metricsChannel = try await bindMetrics(context: context)
        defer { metricsChannel?.close(promise: nil) }
        let serverChannel = try await bind(context: context)
        guard let address = serverChannel.localAddress else {
            throw ChannelError.unknownLocalAddress
        }
        listeningAddress.withLockedValue { $0 = address }
        logger.info("listening", metadata: ["address": "\(address.loggable)", "store": "\(context.storeID)"])
        await onListening(address)

        await withTaskGroup(of: Void.self) { background in
            if let interval = configuration.externalChangePollInterval {
                background.addTask { await self.watchForExternalChanges(every: interval) }
            }
            background.addTask { await Self.watchCredentials(context: context) }
            await self.serve(serverChannel, context: context)
            background.cancelAll()
        }
        let totals = statistics.snapshot()
        logger.info("stopped", metadata: [
            "connections": "\(totals.connectionsAccepted)", "refused": "\(totals.connectionsRefused)",
            "requests": "\(totals.requests)", "bytesIn": "\(totals.bytesIn)", "bytesOut": "\(totals.bytesOut)",
        ])
    }

    private func serve(_ serverChannel: any Channel, context: ServerContext) async {
        let registry = context.registry
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await serverChannel.closeFuture.get()
            } onCancel: {
                serverChannel.close(promise: nil)
            }
        } onGracefulShutdown: {
            self.logger.info("shutting down: no new connections; running responses get \(self.configuration.shutdownGracePeriod) to finish")
            serverChannel.close(promise: nil)
        }
        // No more accepts: idle connections end now, busy ones after their response or the grace period.
        registry.beginShutdown()
        notifier.shutDown()
        let grace = serverChannel.eventLoop.scheduleTask(in: TimeAmount(configuration.shutdownGracePeriod)) {
            registry.closeAll()
        }
        await registry.waitUntilEmpty()
        grace.cancel()
    }

    /// Raises the descriptor limit and returns the connection limit it lets the server honour: the
    /// configured one, or fewer when descriptors run out first (accepting would then fail instead of
    /// answering TOO_MANY_CONNECTIONS).
    private func connectionLimit() -> Int {
        guard let descriptors = FileDescriptorLimit.raiseToHardLimit() else {
            logger.warning("cannot read the open-file limit (RLIMIT_NOFILE); serving up to \(configuration.maxConnections) connections")
            return configuration.maxConnections
        }
        let honoured = FileDescriptorLimit.connections(honouredBy: descriptors)
        guard honoured >= configuration.maxConnections else {
            logger.warning(
                "the open-file limit of \(descriptors) descriptors honours only \(honoured) of the \(configuration.maxConnections) connections asked for; serving up to \(honoured). Raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd) to serve more")
            return honoured
        }
        logger.info("serving up to \(configuration.maxConnections) connections", metadata: ["openFileLimit": "\(descriptors)"])
        return configuration.maxConnections
    }

    private func bindMetrics(context: ServerContext) async throws -> (any Channel)? {
        guard let address = configuration.metricsAddress else { return nil }
        let metrics = self.metrics
        let store = self.store
        let notifier = self.notifier
        let statistics = self.statistics
        let registry = context.registry
        let channel = try await MetricsEndpoint.bind(host: address.host, port: address.port, group: eventLoopGroup) {
            // The operator's view reads the store apart from the counted reads of serving clients.
            let snapshot = try? await store.snapshot()
            return metrics.exposition(ServerMetrics.Reading(
                statistics: statistics.snapshot(), openConnections: registry.count, longPollsWaiting: notifier.waitingCount,
                head: snapshot?.head ?? notifier.head, horizon: snapshot?.horizon ?? 0,
                behindSince: { notifier.behindSince(cursor: $0) }))
        }
        metricsListeningAddress.withLockedValue { $0 = channel.localAddress }
        logger.info("metrics endpoint listening", metadata: ["address": "\(channel.localAddress?.loggable ?? "\(address)")", "path": "/metrics"])
        return channel
    }

    /// Another process (for example `articlesyncd import`) may write to the store: one cheap head query
    /// per interval for the whole server wakes the long polls it concerns.
    private func watchForExternalChanges(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
                notifier.publish(head: try await store.snapshot().head)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("cannot read the store's head: \(error)")
            }
        }
    }
}

extension SocketAddress {
    /// "127.0.0.1:7420", "[::1]:7420": the form of the `listening on` line and of the logs.
    public var loggable: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        if case .v6 = self { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}
