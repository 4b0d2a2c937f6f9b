import ArgumentParser
import ArticleStore
import ArticleSyncClient
import Foundation

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List what pulls brought into the replica, newest first (offline).",
        discussion: """
            Each incremental pull records in the replica every article it added (+ id title), \
            changed (~ id title) or deleted (- id), with the revision and the time it arrived; the \
            record keeps the latest \(ReplicaStore.maxArrivals) changes. The first pull into a new \
            replica (a bootstrap) records none: all of it is new; a re-bootstrap, which replaces \
            the replica's file, starts a new record.

            --since takes a revision (a number: what came after it, e.g. the revision a previous \
            `log --json` ended at) or a local time: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or DD.MM.YYYY.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Option(name: .long, help: ArgumentHelp("Only what arrived after this revision, or at or after this local time.", valueName: "date|revision"))
    var since: LogSince?

    @Option(name: [.short, .long], parsing: .unconditional, help: "At most this many changes.")
    var limit: Int = 50

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            let arrivals: [Arrival]
            do {
                switch since {
                case .revision(let revision)?: arrivals = try await store.arrivals(afterRevision: revision, limit: limit)
                case .time(let time)?: arrivals = try await store.arrivals(since: time, limit: limit)
                case nil: arrivals = try await store.arrivals(limit: limit)
                }
            } catch {
                throw ClientError.replica(options.replicaPath, "cannot read its arrival record: \(error)")
            }
            if console.json {
                console.emit(arrivals.map(ArrivalJSON.init))
                return .ok
            }
            for arrival in arrivals {
                let item = ChangeItem(ChangeKind(arrival.kind), id: arrival.id, title: arrival.title)
                console.say("\(StatusCommand.timestamp(Date(timeIntervalSince1970: arrival.arrivedAt)))  r\(arrival.revision)  \(item.line)")
            }
            if arrivals.isEmpty {
                console.note(since == nil ? "no arrivals recorded yet (incremental pulls record what they bring; the first pull does not)" : "nothing arrived since then")
            }
            return .ok
        }
    }
}

/// `log --since`: a revision or a local time.
enum LogSince: ExpressibleByArgument, Sendable, Equatable {
    case revision(UInt64)
    /// Unix seconds.
    case time(Double)

    init?(argument: String) {
        if let revision = UInt64(argument) {
            self = .revision(revision)
            return
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd", "dd.MM.yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: argument) {
                self = .time(date.timeIntervalSince1970)
                return
            }
        }
        return nil
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

private struct ArrivalJSON: Encodable {
    var revision: UInt64
    var id: String
    var title: String?
    /// added, changed or deleted: the words of `pull --json`'s items.
    var change: String
    /// ISO 8601, UTC.
    var arrivedAt: String
    var arrivedAtUnix: Double

    init(_ arrival: Arrival) {
        revision = arrival.revision
        id = arrival.id
        title = arrival.title
        change = ChangeKind(arrival.kind).rawValue
        arrivedAt = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: arrival.arrivedAt))
        arrivedAtUnix = arrival.arrivedAt
    }
}
