import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// The real `articlesyncd` executable as a child process. Its stdout lines arrive on `lines` as they
/// are printed, so a test waits for "listening on …" instead of sleeping.
final class ServerProcess: Sendable {
    private let process: Process
    let lines: AsyncStream<String>
    private let stderrText = NIOLockedValueBox("")
    private let exited: AsyncStream<Int32>

    /// Next to the test bundle (`swift build --build-tests` builds every product there), else
    /// `.build/debug` of this package.
    static let executable: URL = {
        var candidates = [Bundle.main.bundleURL.deletingLastPathComponent()]
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        let found = candidates.map { $0.appendingPathComponent("articlesyncd") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return found ?? packageRoot.appendingPathComponent(".build/debug/articlesyncd")
    }()

    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err

        let (lines, lineSink) = AsyncStream.makeStream(of: String.self)
        let (exited, exitSink) = AsyncStream.makeStream(of: Int32.self)
        self.lines = lines
        self.exited = exited
        self.process = process
        // The exit is reported only once stderr has been read to its end, so a test that checks
        // what a failed server printed never races the reader thread.
        let terminated = DispatchSemaphore(value: 0)
        let status = NIOLockedValueBox<Int32>(0)
        process.terminationHandler = { process in
            status.withLockedValue { $0 = process.terminationStatus }
            terminated.signal()
        }
        try process.run()

        let stdoutHandle = out.fileHandleForReading
        Thread.detachNewThread {
            var partial = ""
            while true {
                let data = stdoutHandle.availableData
                if data.isEmpty { break }
                partial += String(decoding: data, as: UTF8.self)
                while let newline = partial.firstIndex(of: "\n") {
                    lineSink.yield(String(partial[..<newline]))
                    partial = String(partial[partial.index(after: newline)...])
                }
            }
            lineSink.finish()
        }
        let stderrHandle = err.fileHandleForReading
        let stderrText = self.stderrText
        Thread.detachNewThread {
            while true {
                let data = stderrHandle.availableData
                if data.isEmpty { break }
                stderrText.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
            }
            terminated.wait()
            exitSink.yield(status.withLockedValue { $0 })
            exitSink.finish()
        }
    }

    var stderr: String { stderrText.withLockedValue { $0 } }
    var isRunning: Bool { process.isRunning }

    func signal(_ number: Int32) {
        guard process.isRunning else { return }
        #if canImport(Glibc)
        _ = Glibc.kill(process.processIdentifier, number)
        #else
        _ = Darwin.kill(process.processIdentifier, number)
        #endif
    }

    /// The exit status, or nil when the process has not exited within `limit`.
    func waitForExit(within limit: Duration) async -> Int32? {
        await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                var statuses = self.exited.makeAsyncIterator()
                return await statuses.next()
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The first stdout line starting with `prefix`, or nil when none comes within `limit`.
    func waitForLine(startingWith prefix: String, within limit: Duration) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                for await line in self.lines where line.hasPrefix(prefix) { return line }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Never leaves a server behind: SIGKILL when still running.
    func kill() {
        signal(SIGKILL)
    }
}
