import Foundation

/// Starting a real `articlesyncd serve`, shared by the end-to-end and the reliability tests.
public enum ServerLaunch {
    /// Runs `articlesyncd` with `arguments` (a `serve` command line with `--port`), waits for its
    /// "listening on HOST:PORT" line and returns the process with the "HOST:PORT" text. A server that
    /// never says so is terminated before the error is thrown.
    public static func start(_ arguments: [String]) async throws -> (ChildProcess, String) {
        let child = try ChildProcess(Binaries.server, arguments)
        do {
            let line = try await child.waitForLine(timeout: .seconds(120)) { $0.contains("listening on ") }
            let address = line.components(separatedBy: "listening on ").last!.trimmingCharacters(in: .whitespaces)
            return (child, address)
        } catch {
            child.terminate()
            throw error
        }
    }
}
