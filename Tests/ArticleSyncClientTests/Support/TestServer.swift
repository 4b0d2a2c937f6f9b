import ArticleSyncClient
import Foundation

/// A real `articlesyncd serve` on 127.0.0.1 with an ephemeral port, its store in a temp directory.
final class TestServer {
    let storePath: String
    private(set) var child: ChildProcess
    private(set) var address: ServerAddress

    /// Starts a server on `storePath`, importing `importDirectory` first when given, and waits for
    /// its "listening on HOST:PORT" line.
    init(storePath: String, importDirectory: String? = nil) async throws {
        self.storePath = storePath
        (child, address) = try await Self.start(storePath: storePath, importDirectory: importDirectory)
    }

    private static func start(storePath: String, importDirectory: String?, port: Int = 0) async throws -> (ChildProcess, ServerAddress) {
        var arguments = ["serve", "--store", storePath, "--port", "\(port)", "--anonymous-write"]
        if let importDirectory { arguments += ["--import", importDirectory] }
        let (child, text) = try await ServerLaunch.start(arguments)
        guard let address = ServerAddress(parsing: text) else {
            child.terminate()
            throw TestFailure("cannot parse the server's address: \(text)")
        }
        return (child, address)
    }

    var configuration: ClientConfiguration { ClientConfiguration(address: address) }

    /// Stops the server (SIGTERM, then SIGKILL if it lingers) and reaps it.
    func stop() async {
        child.kill(SIGTERM)
        if (try? await child.wait(timeout: .seconds(20))) == nil { child.terminate() }
        child.terminate()
    }

    /// Starts the server again on the same store and port (after `stop()`).
    func restart() async throws {
        (child, address) = try await Self.start(storePath: storePath, importDirectory: nil, port: address.port)
    }

    /// Replaces the store with a brand-new one (a new store id) filled from `importDirectory`.
    func recreate(importDirectory: String?) async throws {
        await stop()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storePath + suffix) }
        (child, address) = try await Self.start(storePath: storePath, importDirectory: importDirectory)
    }
}
