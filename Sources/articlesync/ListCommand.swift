import ArgumentParser
import ArticleModel
import ArticleStore
import ArticleSyncClient
import Foundation

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the replica's articles, newest first (offline).",
        discussion: "Dates are YYYY-MM-DD or DD.MM.YYYY, inclusive, on the Berlin wall clock like the articles."
    )

    @OptionGroup var options: ReplicaOptions

    @Option(name: .long, help: "Only this category (case does not matter, e.g. \"welt nachrichten\"; see `categories`).")
    var category: String?

    @Option(name: .long, help: ArgumentHelp("Only articles published on or after this day (YYYY-MM-DD or DD.MM.YYYY).", valueName: "date"))
    var since: DayArgument?

    @Option(name: .long, help: ArgumentHelp("Only articles published on or before this day (YYYY-MM-DD or DD.MM.YYYY).", valueName: "date"))
    var until: DayArgument?

    @Option(name: [.short, .long], parsing: .unconditional, help: "At most this many articles.")
    var limit: Int?

    @Flag(name: .long, help: "List the deleted articles that `pull --keep-deleted` kept (most recently deleted first), instead of the live ones; `export --deleted` writes them back.")
    var deleted = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let since, let until, until.endOfDay < since.startOfDay { throw ValidationError("--until is before --since") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            if deleted { return try await listKept(store, console: console) }
            let exactCategory = try await category.asyncMap { try await resolveCategory($0, in: store) }
            let filter = ListFilter(category: exactCategory, from: since?.startOfDay, to: until?.endOfDay, limit: limit)
            let articles = try await store.list(filter)
            if console.json {
                console.emit(articles.map(SummaryJSON.init))
                return .ok
            }
            let categoryWidth = min(24, articles.map(\.category.count).max() ?? 0)
            let width = Console.stdoutIsTerminal ? Console.width : Int.max
            for article in articles {
                var line = "\(article.published)  \(article.category.padded(to: categoryWidth))  \(article.title)  [\(article.id)]"
                if line.count > width { line = String(line.prefix(max(20, width - 1))) + "…" }
                console.say(line)
            }
            if articles.isEmpty { console.note("no articles match") }
            return .ok
        }
    }
}

extension ListCommand {
    /// `--deleted`: the kept articles, with the day a pull deleted each (category and dates filter).
    func listKept(_ store: ReplicaStore, console: Console) async throws -> ExitStatus {
        var kept = try await store.keptArticles()
        if let category { kept = kept.filter { $0.summary.category.lowercased() == category.lowercased() } }
        if let since { kept = kept.filter { $0.summary.published >= since.startOfDay } }
        if let until { kept = kept.filter { $0.summary.published <= until.endOfDay } }
        if let limit { kept = Array(kept.prefix(limit)) }
        if console.json {
            console.emit(kept.map { KeptJSON(article: SummaryJSON($0.summary), deletedAt: $0.deletedAt) })
            return .ok
        }
        let categoryWidth = min(24, kept.map(\.summary.category.count).max() ?? 0)
        for article in kept {
            let day = Date(timeIntervalSince1970: TimeInterval(article.deletedAt)).formatted(.iso8601.year().month().day())
            console.say("deleted \(day)  \(article.summary.published)  \(article.summary.category.padded(to: categoryWidth))  \(article.summary.title)  [\(article.summary.id)]")
        }
        if kept.isEmpty { console.note("no kept deleted articles (pull --keep-deleted DAYS keeps them)") }
        return .ok
    }
}

private struct KeptJSON: Encodable {
    var article: SummaryJSON
    /// Unix seconds.
    var deletedAt: Int64

    func encode(to encoder: any Encoder) throws {
        try article.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(deletedAt, forKey: .deletedAt)
    }

    enum Key: String, CodingKey { case deletedAt }
}

struct SummaryJSON: Encodable {
    var id: String
    var revision: UInt64
    var published: String
    var category: String
    var title: String

    init(_ summary: ArticleSummary) {
        id = summary.id
        revision = summary.revision
        published = summary.published.isoText
        category = summary.category
        title = summary.title
    }
}

extension PublicationTime {
    /// "YYYY-MM-DDTHH:MM", the wall-clock time as written (no offset: the spec stores none).
    var isoText: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-\(two(month))-\(two(day))T\(two(hour)):\(two(minute))"
    }
}

extension String {
    func padded(to width: Int) -> String {
        if count >= width { return count > width ? String(prefix(width - 1)) + "…" : self }
        return self + String(repeating: " ", count: width - count)
    }
}
