import ArticleSyncClient
import Foundation

/// A temp directory with a server and helpers to run the client; everything is removed and every
/// process reaped when the test ends, whether it passed or not.
final class Sandbox {
    let root: String
    var server: TestServer!
    private var children: [ChildProcess] = []

    var replica: String { root + "/replica.sqlite" }
    var corpus: String { root + "/corpus" }

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/articlesync-test.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        root = String(cString: made)
    }

    /// Runs `body` with a sandbox whose server serves `corpus` (written by `prepare`), then cleans up.
    static func run(
        prepare: (Sandbox) throws -> Void = { _ in },
        _ body: (Sandbox) async throws -> Void
    ) async throws {
        let sandbox = try Sandbox()
        do {
            try prepare(sandbox)
            sandbox.server = try await TestServer(
                storePath: sandbox.root + "/server.sqlite",
                importDirectory: FileManager.default.fileExists(atPath: sandbox.corpus) ? sandbox.corpus : nil)
            try await body(sandbox)
        } catch {
            await sandbox.cleanUp()
            throw error
        }
        await sandbox.cleanUp()
    }

    func cleanUp() async {
        for child in children { child.terminate() }
        children.removeAll()
        await server?.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    var configuration: ClientConfiguration { server.configuration }

    func syncer(_ options: SyncOptions = SyncOptions(), replica: String? = nil, onEvent: @escaping @Sendable (SyncEvent) -> Void = { _ in }) -> Syncer {
        Syncer(configuration: configuration, replicaPath: replica ?? self.replica, options: options, onEvent: onEvent)
    }

    /// Starts `articlesync ARGS --server … --replica …` as a child process.
    func startClient(
        _ arguments: [String], replica: String? = nil, server: Bool = true, trigger: ChildProcess.Trigger? = nil
    ) throws -> ChildProcess {
        var full = arguments + ["--replica", replica ?? self.replica]
        if server { full += ["--server", "\(self.server.address)"] }
        let child = try ChildProcess(Binaries.client, full, trigger: trigger)
        children.append(child)
        return child
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String]
    }

    /// Runs `articlesync ARGS` to completion.
    @discardableResult
    func client(_ arguments: [String], replica: String? = nil, server: Bool = true) async throws -> Run {
        let child = try startClient(arguments, replica: replica, server: server)
        let status = try await child.wait()
        return Run(status: status, stdout: child.stdout, stderr: child.stderr, lines: child.stdoutLines)
    }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let path = root + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Decodes one JSON line into a dictionary.
func jsonObject(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}
