import Foundation
import Synchronization

/// A child process whose stdout and stderr are read line by line as they arrive, so a test can wait
/// for an event ("listening on …", a batch committed) instead of sleeping.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test's task; output state is behind a Mutex.
    public let process = Process()
    private let box = OutputBox()

    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let readers = DispatchGroup()

    /// A class around the lock so the reader threads can share it (a Mutex cannot be copied).
    private final class OutputBox: Sendable {
        let mutex = Mutex(Output())
    }

    private struct Output {
        var stdoutLines: [String] = []
        var stderrText = ""
        var partial = ""
        var closed = false
        var matches = 0
        var signalledAt: String?
    }

    /// A signal sent from the thread that reads stdout, as soon as the `count`-th line satisfying
    /// `predicate` arrives (after `delayMicros`): it lands a few microseconds after the child printed
    /// the line, however late the test's own task gets to run on a loaded machine.
    public struct Trigger: Sendable {
        public var count: Int
        public var delayMicros: UInt32
        public var signal: Int32
        public var predicate: @Sendable (String) -> Bool

        public init(afterLine count: Int, delayMicros: UInt32 = 0, signal: Int32 = SIGKILL, where predicate: @escaping @Sendable (String) -> Bool) {
            self.count = count
            self.delayMicros = delayMicros
            self.signal = signal
            self.predicate = predicate
        }
    }

    /// The line that fired the trigger; nil when the child ended before it did.
    public var signalledAt: String? { box.mutex.withLock { $0.signalledAt } }

    public init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], trigger: Trigger? = nil) throws {
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // Never let a developer's own settings leak into a test.
        env["ARTICLESYNC_SERVER"] = nil
        env["ARTICLESYNC_REPLICA"] = nil
        env["ARTICLESYNC_TOKEN"] = nil
        // Nor their config file: an empty one (a test that means one names it, or sets "").
        env["ARTICLESYNC_CONFIG"] = "/dev/null"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        startReading(outPipe.fileHandleForReading, isStdout: true, trigger: trigger, pid: process.processIdentifier)
        startReading(errPipe.fileHandleForReading, isStdout: false, trigger: nil, pid: process.processIdentifier)
    }

    private func startReading(_ handle: FileHandle, isStdout: Bool, trigger: Trigger?, pid: Int32) {
        readers.enter()
        let thread = Thread { [box, readers] in
            let output = box
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                let text = String(decoding: data, as: UTF8.self)
                let fired: Bool = output.mutex.withLock { output in
                    guard isStdout else {
                        output.stderrText += text
                        return false
                    }
                    output.partial += text
                    var fired = false
                    while let newline = output.partial.firstIndex(of: "\n") {
                        let line = String(output.partial[..<newline])
                        output.stdoutLines.append(line)
                        output.partial = String(output.partial[output.partial.index(after: newline)...])
                        if let trigger, output.signalledAt == nil, trigger.predicate(line) {
                            output.matches += 1
                            if output.matches == trigger.count {
                                output.signalledAt = line
                                fired = true
                            }
                        }
                    }
                    return fired
                }
                if fired, let trigger {
                    if trigger.delayMicros > 0 { usleep(trigger.delayMicros) }
                    Foundation.kill(pid, trigger.signal)
                }
            }
            if isStdout {
                output.mutex.withLock { output in
                    if !output.partial.isEmpty { output.stdoutLines.append(output.partial) }
                    output.partial = ""
                    output.closed = true
                }
            }
            readers.leave()
        }
        thread.start()
    }

    public var stdoutLines: [String] { box.mutex.withLock { $0.stdoutLines } }
    public var stdout: String { stdoutLines.joined(separator: "\n") }
    public var stderr: String { box.mutex.withLock { $0.stderrText } }

    /// Waits (polling the collected output, no fixed sleep) until a stdout line satisfies
    /// `predicate`, the process ends, or `timeout` passes. Returns the line.
    public func waitForLine(timeout: Duration = .seconds(60), where predicate: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var checked = 0
        while ContinuousClock.now < deadline {
            let (lines, closed) = box.mutex.withLock { ($0.stdoutLines, $0.closed) }
            while checked < lines.count {
                if predicate(lines[checked]) { return lines[checked] }
                checked += 1
            }
            if closed { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestFailure("no matching line from \(process.executableURL?.lastPathComponent ?? "?") \(process.arguments ?? []) within \(timeout); stdout:\n\(stdout)\nstderr:\n\(stderr)")
    }

    /// Waits for the process to exit and its output to be read; returns the exit status.
    @discardableResult
    public func wait(timeout: Duration = .seconds(120)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(SIGKILL)
                throw TestFailure("\(process.arguments ?? []) did not finish within \(timeout); stderr:\n\(stderr)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        readers.wait()
        return process.terminationStatus
    }

    /// The child's process id.
    public var pid: Int32 { process.processIdentifier }

    public func kill(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    /// Kills (if needed) and reaps: every test calls this in its cleanup.
    public func terminate() {
        kill(SIGKILL)
        process.waitUntilExit()
        readers.wait()
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
