import ArticleStore
import ArticleSyncClient
import ArticleSyncServer
import ArticleSyncServerTestSupport
import Logging

extension InProcessServer {
    /// A server over `store` that polls for no outside writes and logs nothing; `body` gets its
    /// address on 127.0.0.1.
    static func with(store: any CanonicalStore, _ body: (ServerAddress) async throws -> Void) async throws {
        var configuration = ServerConfiguration()
        configuration.externalChangePollInterval = nil
        let logger = Logger(label: "in-process-server", factory: { _ in SwiftLogNoOpLogHandler() })
        try await with(configuration: configuration, store: store, logger: logger) { running in
            try await body(ServerAddress(host: "127.0.0.1", port: running.port))
        }
    }
}
