import ArticleModel
import ArticleStore
import ArticleSyncProtocol
@testable import ArticleSyncServer
import ArticleSyncServerTestSupport
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// A real server on a loopback port chosen by the system, over a real store in a fresh temporary
/// folder. `with` stops the server, closes the store and removes the folder whatever the test does.
final class TestServer: Sendable {
    let server: ArticleSyncServer
    let store: SQLiteCanonicalStore
    let port: Int
    let directory: String
    let group: ServiceGroup

    private init(server: ArticleSyncServer, store: SQLiteCanonicalStore, port: Int, directory: String, group: ServiceGroup) {
        self.group = group
        self.server = server
        self.store = store
        self.port = port
        self.directory = directory
    }

    var storeID: StoreID { store.storeID }

    static func with(
        articles: Int = 0,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        prepare: (SQLiteCanonicalStore) async throws -> Void = { _ in },
        serving: (SQLiteCanonicalStore) -> any CanonicalStore = { $0 },
        _ body: (TestServer) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("articlesyncd-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let store = try SQLiteCanonicalStore(path: directory + "/store.sqlite")
        defer { try? store.close() }
        try await prepare(store)
        if articles > 0 {
            _ = try await store.apply((1...articles).map { Fixtures.put(id: "article-\($0)", index: $0) })
        }

        var configuration = ServerConfiguration()
        configuration.authenticator = AnonymousAuthenticator(loopbackRole: .write)
        configuration.externalChangePollInterval = nil
        configure(&configuration)

        try await InProcessServer.with(configuration: configuration, store: serving(store), logger: testLogger) { running in
            try await body(TestServer(server: running.server, store: store, port: running.port, directory: directory, group: running.group))
        }
    }

    /// Starts the graceful shutdown that SIGTERM would start.
    func shutDown() async {
        await group.triggerGracefulShutdown()
    }

    /// Writes through the store (as an import in this process would) and wakes long polls.
    @discardableResult
    func write(_ writes: [StoreWrite]) async throws -> UInt64 {
        let (head, _) = try await store.apply(writes)
        server.notifier.publish(head: head)
        return head
    }
}

/// Logs of servers under test go nowhere unless ARTICLESYNC_TEST_LOGS is set.
let testLogger: Logger = {
    if ProcessInfo.processInfo.environment["ARTICLESYNC_TEST_LOGS"] != nil {
        var logger = Logger(label: "test-server", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .debug
        return logger
    }
    return Logger(label: "test-server", factory: { _ in SwiftLogNoOpLogHandler() })
}()

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
