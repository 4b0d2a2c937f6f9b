import ArticleStore
import ArticleSyncClient
import ArticleSyncServer
import Logging
import ServiceLifecycle

/// An `ArticleSyncServer` in this process on a free loopback port, stopped when `body` returns.
enum InProcessServer {
    static func with(store: any CanonicalStore, _ body: (ServerAddress) async throws -> Void) async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.externalChangePollInterval = nil
        let logger = Logger(label: "in-process-server", factory: { _ in SwiftLogNoOpLogHandler() })
        let (ports, listened) = AsyncStream.makeStream(of: Int.self)
        let server = try await ArticleSyncServer(configuration: configuration, store: store, logger: logger) { address in
            listened.yield(address.port ?? 0)
            listened.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the server did not start listening") }
            do {
                try await body(ServerAddress(host: "127.0.0.1", port: port))
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
