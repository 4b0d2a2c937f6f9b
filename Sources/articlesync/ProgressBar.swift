import Foundation
import Synchronization

/// A one-line progress display on stderr: bar, articles, bytes, rate, ETA. Only on a terminal (and
/// not with --quiet/--json): piped output stays clean. Safe to call from any task.
final class ProgressBar: Sendable {
    private struct State {
        var startRevision: UInt64 = 0
        var targetRevision: UInt64 = 0
        var revision: UInt64 = 0
        var articles = 0
        var bytes = 0
        var started = ContinuousClock.now
        var lastDraw: ContinuousClock.Instant? = nil
        var visible = false
        var label = "pulling"
        /// Set when the bar counts items (revision = items done) rather than articles and bytes.
        var unit: String? = nil
    }

    private let state = Mutex(State())
    let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
    }

    /// `unit` names what the revisions count when they are not revisions (e.g. articles indexed):
    /// the bar then shows that count and its rate instead of articles and bytes.
    func start(label: String, from revision: UInt64, to target: UInt64, unit: String? = nil) {
        guard enabled else { return }
        state.withLock { state in
            state.label = label
            state.unit = unit
            state.startRevision = revision
            state.revision = revision
            state.targetRevision = max(target, revision)
            state.articles = 0
            state.bytes = 0
            state.started = .now
        }
    }

    func advance(toRevision revision: UInt64, articles: Int, bytes: Int) {
        guard enabled else { return }
        let line: String? = state.withLock { state in
            state.revision = max(state.revision, revision)
            state.articles += articles
            state.bytes += bytes
            let now = ContinuousClock.now
            // Ten redraws a second are plenty and keep the terminal cheap.
            if let last = state.lastDraw, now - last < .milliseconds(100) { return nil }
            state.lastDraw = now
            state.visible = true
            return Self.render(state, now: now, width: Console.width)
        }
        if let line { Console.write("\r" + line, to: STDERR_FILENO) }
    }

    /// Erases the bar so the next line starts clean.
    func finish() {
        guard enabled else { return }
        let wasVisible = state.withLock { state in
            defer { state.visible = false }
            return state.visible
        }
        if wasVisible { Console.write("\r\u{1B}[2K", to: STDERR_FILENO) }
    }

    private static func render(_ state: State, now: ContinuousClock.Instant, width: Int) -> String {
        let span = Double(state.targetRevision - state.startRevision)
        let done = Double(state.revision - state.startRevision)
        let fraction = span > 0 ? min(1, done / span) : 1
        let elapsed = max(0.001, (now - state.started).seconds)
        let rate = Double(state.bytes) / elapsed
        var eta = "--:--"
        if fraction > 0.01 && fraction < 1 {
            eta = formatDuration(elapsed * (1 - fraction) / fraction)
        } else if fraction >= 1 {
            eta = "0:00"
        }
        var text = " \(state.label) \(state.articles) articles  \(formatBytes(state.bytes))  \(formatBytes(Int(rate)))/s  ETA \(eta)"
        if let unit = state.unit {
            text = " \(state.label) \(Int(done)) \(unit)  \(Int(done / elapsed))/s  ETA \(eta)"
        }
        let barWidth = max(10, min(30, width - text.count - 8))
        let filled = Int(fraction * Double(barWidth))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
        let percent = Int(fraction * 100)
        return "[\(bar)] \(percent)%" + text + "\u{1B}[K"
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func formatBytes(_ bytes: Int) -> String {
    let value = Double(bytes)
    if value < 1024 { return "\(bytes) B" }
    if value < 1024 * 1024 { return String(format: "%.1f KB", value / 1024) }
    if value < 1024 * 1024 * 1024 { return String(format: "%.1f MB", value / 1024 / 1024) }
    return String(format: "%.2f GB", value / 1024 / 1024 / 1024)
}

func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    if total >= 3600 { return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60) }
    return String(format: "%d:%02d", total / 60, total % 60)
}
