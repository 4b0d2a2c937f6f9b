import ArticleSyncProtocol
import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import Prometheus

// Prometheus has counters and gauges of its own; the server speaks swift-metrics.
private typealias Counter = CoreMetrics.Counter
private typealias Meter = CoreMetrics.Meter

/// What an operator watches (`--metrics-address`), through swift-metrics into a Prometheus registry
/// of this server's own: one per server, so that servers in one process (tests) never share one and
/// nothing depends on a global `MetricsSystem.bootstrap`.
///
/// Totals are mirrored from `ServerStatistics` when the endpoint is scraped, and the gauges (states,
/// head, horizon, per-client lag) are read then: a parked long poll costs the metrics nothing. The
/// per-client lag is written straight into the text: a registered gauge pair per connection would
/// cost each of ten thousand followers more than a kilobyte for as long as it stays connected.
public final class ServerMetrics: Sendable {
    /// Connections by where their conversation is, kept by `ServerFrameHandler`.
    struct States: Sendable {
        var welcomed = 0
        var busy = 0
    }

    /// One connection's last PULL, for the per-client lag.
    struct Client: Sendable {
        var token: String
        var peer: String
        var cursor: UInt64
    }

    private struct Mirror {
        var last = ServerStatistics.Snapshot()
        var errorsSeen: [String: Counter] = [:]
        var errorsLast: [String: UInt64] = [:]
    }

    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let states = NIOLockedValueBox(States())
    private let clients = NIOLockedValueBox([ObjectIdentifier: Client]())
    private let errors = NIOLockedValueBox([String: UInt64]())
    private let tokenNames = NIOLockedValueBox([String: String]())
    private let mirror = NIOLockedValueBox(Mirror())

    private let wakeUpLatency: CoreMetrics.Timer
    private let connectionsAccepted: Counter
    private let connectionsRefused: Counter
    private let requests: Counter
    private let pulls: Counter
    private let pushes: Counter
    private let batches: Counter
    private let changesSent: Counter
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let storeReads: Counter
    private let wakeUps: Counter
    private let tailReads: Counter
    private let connections: [String: Meter]
    private let longPolls: Meter
    private let head: Meter
    private let horizon: Meter

    static let connectionStates = ["handshake", "idle", "busy", "long_poll"]

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["articlesync_wakeup_latency_seconds"] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        wakeUpLatency = CoreMetrics.Timer(label: "articlesync_wakeup_latency_seconds", factory: factory)
        connectionsAccepted = Counter(label: "articlesync_connections_accepted_total", factory: factory)
        connectionsRefused = Counter(label: "articlesync_connections_refused_total", factory: factory)
        requests = Counter(label: "articlesync_requests_total", factory: factory)
        pulls = Counter(label: "articlesync_pulls_total", factory: factory)
        pushes = Counter(label: "articlesync_pushes_total", factory: factory)
        batches = Counter(label: "articlesync_batches_total", factory: factory)
        changesSent = Counter(label: "articlesync_changes_sent_total", factory: factory)
        bytesIn = Counter(label: "articlesync_bytes_in_total", factory: factory)
        bytesOut = Counter(label: "articlesync_bytes_out_total", factory: factory)
        storeReads = Counter(label: "articlesync_store_reads_total", factory: factory)
        wakeUps = Counter(label: "articlesync_wakeups_total", factory: factory)
        tailReads = Counter(label: "articlesync_tail_reads_total", factory: factory)
        connections = Dictionary(uniqueKeysWithValues: Self.connectionStates.map {
            ($0, Meter(label: "articlesync_connections", dimensions: [("state", $0)], factory: factory))
        })
        longPolls = Meter(label: "articlesync_long_polls_waiting", factory: factory)
        head = Meter(label: "articlesync_store_head_revision", factory: factory)
        horizon = Meter(label: "articlesync_store_horizon_revision", factory: factory)
    }

    // MARK: Recorded as it happens

    func recordWakeUp(latency: TimeAmount) {
        wakeUpLatency.recordNanoseconds(latency.nanoseconds)
    }

    func errorSent(_ error: ErrorMessage) {
        let code = error.code?.name ?? "UNKNOWN"
        errors.withLockedValue { $0[code, default: 0] += 1 }
    }

    func updateStates(_ body: (inout States) -> Void) {
        states.withLockedValue(body)
    }

    func tokenGranted(_ token: String, name: String?) {
        guard !token.isEmpty, let name else { return }
        tokenNames.withLockedValue { $0[token] = name }
    }

    func pulled(on channel: any Channel, token: String, cursor: UInt64) {
        let name = token.isEmpty ? "anonymous" : tokenNames.withLockedValue { $0[token] } ?? "unnamed"
        let client = Client(token: name, peer: channel.remoteAddress?.loggable ?? "unknown", cursor: cursor)
        clients.withLockedValue { $0[ObjectIdentifier(channel)] = client }
    }

    func closed(_ channel: any Channel) {
        clients.withLockedValue { $0[ObjectIdentifier(channel)] = nil }
    }

    // MARK: Read when scraped

    /// `articlesync_client_lag_revisions` and `_seconds`, one sample per connection that pulled,
    /// labelled by token name and peer, in the text format the registry writes. Written straight
    /// into `out`: with ten thousand clients the text is over a megabyte.
    private static func emitLag(of clients: [Client], _ reading: Reading, into out: inout [UInt8]) {
        guard !clients.isEmpty else { return }
        let clock = NIODeadline.now()
        out.reserveCapacity(out.count + clients.count * 2 * 96)
        out.append(contentsOf: "# TYPE articlesync_client_lag_revisions gauge\n".utf8)
        for client in clients {
            let behind = reading.head > client.cursor ? reading.head - client.cursor : 0
            appendSample("articlesync_client_lag_revisions", client, "\(Double(behind))", into: &out)
        }
        out.append(contentsOf: "# TYPE articlesync_client_lag_seconds gauge\n".utf8)
        for client in clients {
            let since = reading.behindSince(client.cursor).map { Double((clock - $0).nanoseconds) / 1e9 } ?? 0
            appendSample("articlesync_client_lag_seconds", client, "\(since)", into: &out)
        }
    }

    private static func appendSample(_ name: String, _ client: Client, _ value: String, into out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: "{token=\"".utf8)
        out.append(contentsOf: escapedLabel(client.token).utf8)
        out.append(contentsOf: "\",peer=\"".utf8)
        out.append(contentsOf: escapedLabel(client.peer).utf8)
        out.append(contentsOf: "\"} ".utf8)
        out.append(contentsOf: value.utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// A label value as the text format wants it: backslash, double quote and line feed escaped.
    static func escapedLabel(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// What a scrape shows besides the totals, read from the server at that moment.
    struct Reading: Sendable {
        var statistics: ServerStatistics.Snapshot
        var openConnections: Int
        var longPollsWaiting: Int
        var head: UInt64
        var horizon: UInt64
        /// When the head first passed a cursor (nil: it has not).
        var behindSince: @Sendable (UInt64) -> NIODeadline?
    }

    /// The Prometheus text exposition of everything, as of `reading`.
    func exposition(_ reading: Reading) -> [UInt8] {
        mirror.withLockedValue { mirror in
            let now = reading.statistics
            func advance(_ counter: Counter, _ path: KeyPath<ServerStatistics.Snapshot, UInt64>) {
                let delta = now[keyPath: path] &- mirror.last[keyPath: path]
                if delta > 0, delta < UInt64(Int64.max) { counter.increment(by: Int64(delta)) }
            }
            advance(connectionsAccepted, \.connectionsAccepted)
            advance(connectionsRefused, \.connectionsRefused)
            advance(requests, \.requests)
            advance(pulls, \.pulls)
            advance(pushes, \.pushes)
            advance(batches, \.batches)
            advance(changesSent, \.changesSent)
            advance(bytesIn, \.bytesIn)
            advance(bytesOut, \.bytesOut)
            advance(storeReads, \.storeReads)
            advance(wakeUps, \.wakeUps)
            advance(tailReads, \.tailReads)
            mirror.last = now

            for (code, count) in errors.withLockedValue({ $0 }) {
                let counter = mirror.errorsSeen[code] ?? {
                    let made = Counter(label: "articlesync_errors_total", dimensions: [("code", code)], factory: factory)
                    mirror.errorsSeen[code] = made
                    return made
                }()
                let delta = count - (mirror.errorsLast[code] ?? 0)
                if delta > 0 { counter.increment(by: Int64(clamping: delta)) }
                mirror.errorsLast[code] = count
            }

            let states = self.states.withLockedValue { $0 }
            let waiting = reading.longPollsWaiting
            let open = reading.openConnections
            let welcomed = min(states.welcomed, open)
            let busy = min(max(states.busy, waiting), welcomed)
            connections["handshake"]?.set(open - welcomed)
            connections["idle"]?.set(welcomed - busy)
            connections["busy"]?.set(busy - min(waiting, busy))
            connections["long_poll"]?.set(min(waiting, busy))
            longPolls.set(waiting)
            head.set(Int64(clamping: reading.head))
            horizon.set(Int64(clamping: reading.horizon))

            var out: [UInt8] = []
            registry.emit(into: &out)
            Self.emitLag(of: clients.withLockedValue { Array($0.values) }, reading, into: &out)
            return out
        }
    }
}
