import ArticleStore
import ArticleSyncServer
import Logging
import ServiceLifecycle

/// An `ArticleSyncServer` in this process on a loopback port the system chose, run in a
/// `ServiceGroup` as `articlesyncd serve` runs it, and shut down gracefully (its connections
/// drained, its task awaited) when `body` returns or throws.
public enum InProcessServer {
    /// A running server: what `body` may use.
    public struct Running: Sendable {
        public let server: ArticleSyncServer
        public let port: Int
        public let group: ServiceGroup
    }

    /// `configuration.port` is replaced by 0: the system picks a free port, which `body` gets.
    public static func with(
        configuration: ServerConfiguration, store: any CanonicalStore, logger: Logger,
        _ body: (Running) async throws -> Void
    ) async throws {
        var configuration = configuration
        configuration.port = 0
        let (ports, listened) = AsyncStream.makeStream(of: Int.self)
        let server = try await ArticleSyncServer(configuration: configuration, store: store, logger: logger) { address in
            listened.yield(address.port ?? 0)
            listened.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw NotListening() }
            do {
                try await body(Running(server: server, port: port, group: group))
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    public struct NotListening: Error, CustomStringConvertible {
        public var description: String { "the in-process server did not start listening" }
    }
}
