import ArgumentParser
import ArticleStore
import ArticleSyncClient

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Full-text search in the replica, best matches first, with snippets (offline).",
        discussion: "German text works as typed, umlauts and ß included. Matches in snippets are marked «like this»."
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The words to look for.")
    var text: [String]

    @Option(name: [.short, .long], help: "At most this many results.")
    var limit: Int = 20

    func validate() throws {
        if text.joined().trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("give some words to search for") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            if try await store.isFullTextIndexPending() {
                console.note("building the search index first (the last pull stopped before it was built); this takes a while once…")
            }
            let hits = try await store.search(text.joined(separator: " "), limit: limit)
            if console.json {
                console.emit(hits.map { HitJSON(article: SummaryJSON($0.summary), snippet: $0.snippet, rank: $0.rank) })
                return .ok
            }
            let width = min(100, Console.stdoutIsTerminal ? Console.width : 100)
            for (index, hit) in hits.enumerated() {
                console.say("\(index + 1). \(hit.summary.title)  [\(hit.summary.id)]")
                console.say("   \(hit.summary.published) · \(hit.summary.category)")
                for line in wrap(hit.snippet.replacingOccurrences(of: "\n", with: " "), width: width, indent: "   ") {
                    console.say(line)
                }
                console.say("")
            }
            if hits.isEmpty { console.note("no matches for \"\(text.joined(separator: " "))\"") }
            return .ok
        }
    }
}

private struct HitJSON: Encodable {
    var article: SummaryJSON
    var snippet: String
    var rank: Double
}
