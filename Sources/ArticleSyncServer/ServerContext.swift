import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Logging

/// What every connection of one server shares.
struct ServerContext: Sendable {
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
    let logger: Logger
}
