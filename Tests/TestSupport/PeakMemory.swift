import Foundation
import Synchronization

/// The peak resident memory of a running child, from the kernel's own high-water mark (VmHWM in
/// /proc/PID/status), read every few milliseconds until the process is gone: the mark dies with the
/// process, so the last reading before the exit is the peak (a last burst shorter than the interval
/// can be missed; the floods it is used for last far longer).
///
/// Only readings of the child once it runs `executableName` count: between fork and exec the child
/// is a copy of the test process, whose high-water mark (hundreds of megabytes) it inherits.
public final class PeakMemory: Sendable {
    private let peak = Mutex(0)
    private let finished = DispatchSemaphore(value: 0)

    public init(pid: Int32, executableName: String) {
        // The kernel's name of a process: its executable's file name, cut to 15 bytes.
        let name = String(decoding: executableName.utf8.prefix(15), as: UTF8.self)
        let thread = Thread { [self] in
            let path = "/proc/\(pid)/status"
            while let status = try? String(contentsOfFile: path, encoding: .utf8).split(separator: "\n"),
                let line = status.first(where: { $0.hasPrefix("VmHWM:") })
            {
                let running = status.first { $0.hasPrefix("Name:") }
                    .map { $0.dropFirst("Name:".count).trimmingCharacters(in: .whitespaces) == name } ?? false
                if running {
                    let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
                    peak.withLock { $0 = max($0, kib) }
                }
                usleep(5_000)
            }
            finished.signal()
        }
        thread.start()
    }

    /// Waits until the process is gone (call after it exited), then returns its peak in KiB.
    public func kibibytes(timeout: Duration = .seconds(10)) -> Int {
        _ = finished.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000)))
        return peak.withLock { $0 }
    }
}

extension ChildProcess {
    /// Starts sampling this child's peak memory; read it with `kibibytes()` once it has exited.
    public func samplePeakMemory() -> PeakMemory {
        PeakMemory(pid: process.processIdentifier, executableName: process.executableURL?.lastPathComponent ?? "")
    }
}
