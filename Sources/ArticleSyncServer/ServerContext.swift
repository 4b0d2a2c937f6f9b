import ArticleStore
import ArticleSyncProtocol
import Logging

/// What every connection of one server shares.
struct ServerContext: Sendable {
    let configuration: ServerConfiguration
    let store: any CanonicalStore
    let storeID: StoreID
    let notifier: RevisionNotifier
    let statistics: ServerStatistics
    let registry: ConnectionRegistry
    let dictionaries: DictionaryCache
    let logger: Logger
}
