import ArticleSyncClient
import Foundation

/// Load against one running server on loopback: `--clients` concurrent clients pull (a full pull
/// first and every `--full-every`th time, incremental pulls otherwise) while one writer pushes
/// continuously, for `--seconds`. Prints throughput, incremental-pull latency percentiles, errors
/// and the server's peak memory (VmHWM of `--server-pid`). Bounded in time and in clients.
struct LoadOptions {
    var server = ServerAddress(host: "127.0.0.1", port: 7420)
    var clients = 200
    var seconds = 60.0
    var fullEvery = 10
    var serverPID: Int32?
    var workDirectory = FileManager.default.temporaryDirectory.path + "/articlesync-load-\(getpid())"

    static func parse(_ arguments: [String]) -> LoadOptions {
        var options = LoadOptions()
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--server":
                guard let address = ServerAddress(parsing: value()), ["127.0.0.1", "localhost", "::1"].contains(address.host) else {
                    fail("--server must be a loopback address (127.0.0.1:PORT): load is never aimed at another machine")
                }
                options.server = address
            case "--clients": options.clients = Int(value()) ?? 0
            case "--seconds": options.seconds = Double(value()) ?? 0
            case "--full-every": options.fullEvery = Int(value()) ?? 0
            case "--server-pid": options.serverPID = Int32(value())
            case "--work-dir": options.workDirectory = value()
            default: fail("unknown argument \(arguments[index]); usage: articlesync-load --server 127.0.0.1:PORT [--clients N] [--seconds S] [--full-every K] [--server-pid PID]")
            }
            index += 1
        }
        guard (1...1_000).contains(options.clients) else { fail("--clients must be between 1 and 1000") }
        guard options.seconds > 0, options.seconds <= 3_600 else { fail("--seconds must be above 0 and at most 3600") }
        guard options.fullEvery >= 1 else { fail("--full-every must be at least 1") }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("articlesync-load: \(message)\n".utf8))
    exit(2)
}

/// What one client or the writer did.
struct Tally: Sendable {
    var fullPulls = 0
    var incrementalPulls = 0
    var articles = 0
    var bytes = 0
    var incrementalLatencies: [Duration] = []
    var pushes = 0
    var pushedArticles = 0
    var errors: [String] = []

    mutating func merge(_ other: Tally) {
        fullPulls += other.fullPulls
        incrementalPulls += other.incrementalPulls
        articles += other.articles
        bytes += other.bytes
        incrementalLatencies += other.incrementalLatencies
        pushes += other.pushes
        pushedArticles += other.pushedArticles
        errors += other.errors
    }
}

func serverMemory(_ pid: Int32?) -> (rss: Int, peak: Int)? {
    guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    func field(_ name: String) -> Int {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return (field("VmRSS"), field("VmHWM"))
}

func client(_ number: Int, _ options: LoadOptions, until deadline: ContinuousClock.Instant) async -> Tally {
    var tally = Tally()
    let configuration = ClientConfiguration(address: options.server)
    let replica = options.workDirectory + "/client-\(number).sqlite"
    var round = 0
    while ContinuousClock.now < deadline {
        let full = round % options.fullEvery == 0
        if full { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: replica + suffix) } }
        let start = ContinuousClock.now
        do {
            let report = try await Syncer(configuration: configuration, replicaPath: replica, options: SyncOptions()).pull()
            tally.articles += report.applied + report.deleted
            tally.bytes += report.bytes
            if full { tally.fullPulls += 1 } else {
                tally.incrementalPulls += 1
                tally.incrementalLatencies.append(ContinuousClock.now - start)
            }
        } catch {
            tally.errors.append("client \(number): \(error)")
        }
        round += 1
    }
    return tally
}

func writer(_ options: LoadOptions, until deadline: ContinuousClock.Instant) async -> Tally {
    var tally = Tally()
    let pusher = Pusher(configuration: ClientConfiguration(address: options.server), replicaPath: options.workDirectory + "/writer.sqlite", force: true)
    var edit = 0
    while ContinuousClock.now < deadline {
        // Ten articles per push: new ids and edits of earlier ones, as a newsroom writes.
        let items = (0..<10).map { index -> PushItem in
            let id = "load-\((edit * 10 + index) % 5_000)"
            let text = "Veröffentlichungsdatum: 01.03.2025 12:00 / Last\n\nLastartikel \(id)\n\nLastartikel \(id)\n\n"
                + "Fassung \(edit): " + String(repeating: "Die Gemeinde berät über den Haushalt und die Straßen. ", count: 20)
            return PushItem(id: id, source: Array(text.utf8))
        }
        do {
            _ = try await pusher.push(items)
            tally.pushes += 1
            tally.pushedArticles += items.count
        } catch {
            tally.errors.append("writer: \(error)")
        }
        edit += 1
        try? await Task.sleep(for: .milliseconds(20))
    }
    return tally
}

func percentileValue(_ sorted: [Duration], _ p: Double) -> Duration? {
    guard !sorted.isEmpty else { return nil }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

func percentile(_ sorted: [Duration], _ p: Double) -> String {
    guard let value = percentileValue(sorted, p) else { return "n/a" }
    return String(format: "%.1f ms", Double(value.components.seconds) * 1_000 + Double(value.components.attoseconds) / 1e15)
}

/// Issue 14's goal for this load: the incremental pull's p99 at most a second, and no errors.
let goalP99: Duration = .seconds(1)

let options = LoadOptions.parse(Array(CommandLine.arguments.dropFirst()))
try? FileManager.default.createDirectory(atPath: options.workDirectory, withIntermediateDirectories: true)
let started = ContinuousClock.now
let deadline = started + .milliseconds(Int(options.seconds * 1_000))
print("articlesync-load: \(options.clients) clients and one writer against \(options.server) for \(options.seconds) s")
var total = await withTaskGroup(of: Tally.self) { group in
    group.addTask { await writer(options, until: deadline) }
    for number in 0..<options.clients { group.addTask { await client(number, options, until: deadline) } }
    var total = Tally()
    for await tally in group { total.merge(tally) }
    return total
}
let elapsed = ContinuousClock.now - started
try? FileManager.default.removeItem(atPath: options.workDirectory)
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let latencies = total.incrementalLatencies.sorted()
let pulls = total.fullPulls + total.incrementalPulls
print(String(format: "elapsed            %.1f s", seconds))
print("pulls              \(pulls) (\(total.fullPulls) full, \(total.incrementalPulls) incremental)")
print(String(format: "throughput         %.1f pulls/s, %.0f articles/s, %.2f MB/s", Double(pulls) / seconds, Double(total.articles) / seconds, Double(total.bytes) / seconds / 1e6))
print("incremental pull   p50 \(percentile(latencies, 0.5)), p90 \(percentile(latencies, 0.9)), p99 \(percentile(latencies, 0.99))")
print("writer             \(total.pushes) pushes, \(total.pushedArticles) articles")
if let memory = serverMemory(options.serverPID) {
    print("server memory      peak (VmHWM) \(memory.peak / 1024) MiB, now (VmRSS) \(memory.rss / 1024) MiB")
}
print("errors             \(total.errors.count)")
for error in total.errors.prefix(10) { print("  \(error)") }
let p99 = percentileValue(latencies, 0.99)
let goalMet = p99.map { $0 <= goalP99 } == true && total.errors.isEmpty
print("goal               incremental p99 <= 1000 ms and 0 errors: \(goalMet ? "met" : "missed") (p99 \(percentile(latencies, 0.99)), \(total.errors.count) errors)")
exit(total.errors.isEmpty ? 0 : 1)
