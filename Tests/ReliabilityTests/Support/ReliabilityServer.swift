import ArticleSyncClient
import Foundation

/// A real `articlesyncd serve` process for the reliability tests, with whatever limit flags a test
/// needs, on 127.0.0.1 and an ephemeral port.
final class ReliabilityServer {
    let storePath: String
    let extraArguments: [String]
    private(set) var child: ChildProcess
    private(set) var address: ServerAddress

    /// `anonymousWrite`: anonymous loopback clients may push (ignored with `--tokens`).
    init(storePath: String, importDirectory: String? = nil, arguments: [String] = [], port: Int = 0, anonymousWrite: Bool = true) async throws {
        self.storePath = storePath
        self.extraArguments = arguments + (anonymousWrite && !arguments.contains("--tokens") ? ["--anonymous-write"] : [])
        (child, address) = try await Self.start(storePath: storePath, importDirectory: importDirectory, arguments: extraArguments, port: port)
    }

    private static func start(storePath: String, importDirectory: String?, arguments: [String], port: Int) async throws -> (ChildProcess, ServerAddress) {
        var full = ["serve", "--store", storePath, "--port", "\(port)", "--log-level", "error"] + arguments
        if let importDirectory { full += ["--import", importDirectory] }
        let (child, text) = try await ServerLaunch.start(full)
        guard let address = ServerAddress(parsing: text) else {
            child.terminate()
            throw TestFailure("cannot parse the server's address: \(text)")
        }
        return (child, address)
    }

    var port: Int { address.port }
    var pid: Int32 { child.process.processIdentifier }
    var isRunning: Bool { child.process.isRunning }
    var configuration: ClientConfiguration { ClientConfiguration(address: address) }

    /// Resident memory now and at its peak, in KiB, from /proc (Linux).
    var memory: (rss: Int, peak: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    func stop() async {
        child.kill(SIGTERM)
        if (try? await child.wait(timeout: .seconds(20))) == nil { child.terminate() }
        child.terminate()
    }

    func killHard() async {
        child.kill(SIGKILL)
        _ = try? await child.wait(timeout: .seconds(20))
        child.terminate()
    }

    /// Starts again on the same store and port.
    func restart() async throws {
        (child, address) = try await Self.start(storePath: storePath, importDirectory: nil, arguments: extraArguments, port: address.port)
    }
}

/// A temp directory removed on `cleanUp()`.
struct TempDirectory {
    let path: String

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/articlesync-reliability.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        path = String(cString: made)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}
