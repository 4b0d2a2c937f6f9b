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
        /// A bootstrap: the articles to fetch; the bar counts them instead of revisions.
        var expectedArticles: Int? = nil
        /// The share of the whole that finishing the search index takes after the articles.
        var indexShare = 0.0
        /// Of the index phase, once it started: done and total.
        var indexed: (done: Int, total: Int)? = nil
    }

    /// How much of a bootstrap into a reading replica finishing the search index takes, as a share
    /// of the whole, so that the ETA shown while articles arrive includes it. An estimate: the
    /// index phase is timed only once it runs, and then its own progress takes over.
    static let indexShareOfBootstrap = 0.2

    private let state = Mutex(State())
    let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
    }

    /// `unit` names what the revisions count when they are not revisions (e.g. articles indexed):
    /// the bar then shows that count and its rate instead of articles and bytes.
    func start(label: String, from revision: UInt64, to target: UInt64, unit: String? = nil, expectedArticles: Int? = nil, indexAfter: Bool = false) {
        guard enabled else { return }
        state.withLock { state in
            state.label = label
            state.unit = unit
            state.expectedArticles = expectedArticles.flatMap { $0 > 0 ? $0 : nil }
            state.indexShare = indexAfter && state.expectedArticles != nil ? Self.indexShareOfBootstrap : 0
            state.indexed = nil
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

    /// Whether this bar also covers finishing the search index (a bootstrap counting articles).
    var coversIndex: Bool {
        enabled && state.withLock { $0.indexShare > 0 }
    }

    /// The index phase of a bar that `coversIndex`: the same bar and clock go on.
    func advanceIndex(done: Int, total: Int) {
        guard enabled else { return }
        let line: String? = state.withLock { state in
            state.indexed = (done, total)
            state.label = "building the search index…"
            let now = ContinuousClock.now
            if let last = state.lastDraw, now - last < .milliseconds(100), done < total { return nil }
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
        var fraction = span > 0 ? min(1, done / span) : 1
        if let expected = state.expectedArticles {
            let fetched = min(1, Double(state.articles) / Double(expected)) * (1 - state.indexShare)
            if let indexed = state.indexed {
                fraction = (1 - state.indexShare) + state.indexShare * (indexed.total > 0 ? min(1, Double(indexed.done) / Double(indexed.total)) : 0)
            } else {
                fraction = fetched
            }
        }
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
        } else if let expected = state.expectedArticles {
            let count = state.indexed.map { "\($0.done) of \($0.total) articles" } ?? "\(state.articles) of \(expected) articles  \(formatBytes(state.bytes))  \(formatBytes(Int(rate)))/s"
            text = " \(state.label) \(count)  ETA \(eta)"
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
