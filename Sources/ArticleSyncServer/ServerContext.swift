import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Logging

/// What every connection of one server shares. A class: every connection and each of its tasks
/// holds a reference, not a copy of the configuration.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let store: any CanonicalStore
    let storeID: StoreID
    let notifier: RevisionNotifier
    /// Answers the long polls parked at the head with one read for all (TailBroadcaster.swift).
    let tail: TailBroadcaster
    let metrics: ServerMetrics
    let statistics: ServerStatistics
    let registry: ConnectionRegistry
    let dictionaries: DictionaryCache
    /// Bounds what compressed frames of all connections inflate to at once.
    let inflation: InflationBudget
    /// Bounds the bytes of unfinished frames all connections buffer at once.
    let input: ByteBudget
    let logger: Logger

    init(
        configuration: ServerConfiguration, store: any CanonicalStore, storeID: StoreID, notifier: RevisionNotifier,
        tail: TailBroadcaster, metrics: ServerMetrics, statistics: ServerStatistics, registry: ConnectionRegistry,
        dictionaries: DictionaryCache, inflation: InflationBudget, input: ByteBudget, logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.storeID = storeID
        self.notifier = notifier
        self.tail = tail
        self.metrics = metrics
        self.statistics = statistics
        self.registry = registry
        self.dictionaries = dictionaries
        self.inflation = inflation
        self.input = input
        self.logger = logger
    }
}
