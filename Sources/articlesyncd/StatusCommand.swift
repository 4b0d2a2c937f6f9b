import ArgumentParser
import ArticleStore
import ArticleSyncServer
import Foundation

/// `articlesyncd status`: one screen about a running server, from its metrics endpoint, or what its
/// store tells when it has none.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running server's connections, traffic, errors and lagging clients.",
        discussion: """
            Reads the endpoint that `articlesyncd serve --metrics-address` opened. Without one, \
            --store shows what the store alone tells: head, horizon and articles.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The server's metrics endpoint: PORT (on 127.0.0.1) or HOST:PORT.", valueName: "address"))
    var metricsAddress: String?

    @Option(name: .long, help: ArgumentHelp("The store file, read when no endpoint is given.", valueName: "path"))
    var store: String?

    @Option(name: .long, parsing: .unconditional, help: "Lagging clients listed, the furthest behind first.")
    var clients: Int = 10

    func validate() throws {
        guard metricsAddress != nil || store != nil else {
            throw ValidationError("give --metrics-address (the server's, from `serve --metrics-address`) or --store")
        }
        if let metricsAddress, MetricsAddress(parsing: metricsAddress) == nil {
            throw ValidationError("--metrics-address must be PORT or HOST:PORT, not '\(metricsAddress)'")
        }
        guard clients >= 0 else { throw ValidationError("--clients must be 0 or more") }
    }

    func run() async throws {
        if let metricsAddress, let address = MetricsAddress(parsing: metricsAddress) {
            let text: String
            do {
                text = try await MetricsScrape.fetch(host: address.host, port: address.port)
            } catch {
                throw CommandFailure("cannot read the metrics at \(address): \(error). Is `articlesyncd serve --metrics-address \(address)` running?")
            }
            let samples: [MetricSample]
            do {
                samples = try MetricsScrape.parse(text)
            } catch {
                throw CommandFailure("\(error)")
            }
            print(ServerStatusReport(samples: samples, source: "\(address)").render(clients: clients), terminator: "")
            return
        }
        guard let path = store else { return }
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("no store at \(path)")
        }
        do {
            let store = try SQLiteCanonicalStore(path: path)
            defer { try? store.close() }
            let snapshot = try await store.snapshot()
            print("""
                store         \(path) (no metrics endpoint given: connections and traffic are not known)
                head          \(snapshot.head)
                horizon       \(snapshot.horizon)
                articles      \(snapshot.articleCount)
                """)
        } catch {
            throw CommandFailure("cannot read the store \(path): \(error)")
        }
    }
}

/// The status screen, from the samples of one scrape.
struct ServerStatusReport {
    var samples: [MetricSample]
    var source: String

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value ?? 0
    }

    func render(clients limit: Int) -> String {
        func count(_ value: Double) -> String { String(Int64(value)) }
        func bytes(_ value: Double) -> String {
            value >= 1e9 ? String(format: "%.2f GB", value / 1e9) : value >= 1e6 ? String(format: "%.1f MB", value / 1e6)
                : value >= 1e3 ? String(format: "%.1f kB", value / 1e3) : "\(Int64(value)) B"
        }
        var lines: [String] = []
        lines.append("server        \(source) (metrics endpoint)")
        lines.append("store         head \(count(value("articlesync_store_head_revision"))), horizon \(count(value("articlesync_store_horizon_revision")))")
        let states = ["long_poll", "busy", "idle", "handshake"].map { ($0, value("articlesync_connections", ["state": $0])) }
        let open = states.map(\.1).reduce(0, +)
        lines.append("connections   \(count(open)) open: " + states.map { "\(count($0.1)) \($0.0.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", "))
        lines.append("              \(count(value("articlesync_connections_accepted_total"))) accepted, \(count(value("articlesync_connections_refused_total"))) refused since start")
        lines.append("requests      \(count(value("articlesync_pulls_total"))) pulls, \(count(value("articlesync_pushes_total"))) pushes, \(count(value("articlesync_batches_total"))) batches, \(count(value("articlesync_changes_sent_total"))) changes sent")
        lines.append("bytes         \(bytes(value("articlesync_bytes_in_total"))) in, \(bytes(value("articlesync_bytes_out_total"))) out")
        let wakeUps = value("articlesync_wakeups_total")
        let tailReads = value("articlesync_tail_reads_total")
        var wake = "wake-ups      \(count(wakeUps)), \(count(tailReads)) tail reads"
        if wakeUps > 0 { wake += String(format: " (%.2f per wake-up)", tailReads / wakeUps) }
        let latencyCount = value("articlesync_wakeup_latency_seconds_count")
        if latencyCount > 0 {
            wake += String(format: ", mean latency %.1f ms", value("articlesync_wakeup_latency_seconds_sum") / latencyCount * 1_000) + " over \(count(latencyCount)) answers"
        }
        lines.append(wake)
        lines.append("store reads   \(count(value("articlesync_store_reads_total")))")
        let errors = samples.filter { $0.name == "articlesync_errors_total" && $0.value > 0 }.sorted { $0.value > $1.value }
        lines.append("errors sent   " + (errors.isEmpty ? "none" : errors.map { "\($0.labels["code"] ?? "?") \(count($0.value))" }.joined(separator: ", ")))
        let lag = samples.filter { $0.name == "articlesync_client_lag_revisions" }.sorted { $0.value > $1.value }
        lines.append("clients       \(lag.count) have pulled; \(lag.filter { $0.value > 0 }.count) behind the head")
        if limit > 0, !lag.isEmpty {
            func left(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
            func right(_ text: String, _ width: Int) -> String { text.count >= width ? text : String(repeating: " ", count: width - text.count) + text }
            lines.append("  " + left("token", 20) + " " + left("peer", 24) + " " + right("revisions", 10) + " " + right("seconds", 10))
            for sample in lag.prefix(limit) {
                let token = sample.labels["token"] ?? "?"
                let peer = sample.labels["peer"] ?? "?"
                let seconds = value("articlesync_client_lag_seconds", ["token": token, "peer": peer])
                lines.append("  " + left(token, 20) + " " + left(peer, 24) + " " + right(count(sample.value), 10) + " " + right(String(format: "%.1f", seconds), 10))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
