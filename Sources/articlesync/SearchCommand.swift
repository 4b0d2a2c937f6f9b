import ArgumentParser
import ArticleStore
import ArticleSyncClient

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Full-text search in the replica, best matches first, with snippets (offline).",
        discussion: """
            QUERY SYNTAX:
              Straße Berlin        both words, anywhere in the article
              "rote Karte"         the words next to each other, in this order
              Fußb*                words that begin with "Fußb" (Fußball, Fußballer…)
              Bahn OR Zug          either word; OR joins the two words beside it:
                                   Bahn OR Zug Streik = (Bahn OR Zug) and Streik
              Berlin NOT Wetter    leave out articles with the word; -Wetter says the same
            OR and NOT are operators only in capitals. Anything else, punctuation included, is \
            searched for as written. Quote the query for the shell: \
            articlesync search '"rote Karte" -Foul'.

            GERMAN SPELLINGS MEET: case does not matter; ß is ss ("Strasse", "STRASSE" and \
            "Straße" find each other); the umlauts ä, ö, ü are a, o, u as well as ae, oe, ue ("Groesse", \
            "Grösse" and "GRÖSSE" find "Größe"; "Mueller" finds "Müller"). Other accents are \
            ignored ("Cafe" finds "Café").

            Matches in snippets are marked «like this». Dates are YYYY-MM-DD or DD.MM.YYYY, \
            inclusive, on the Berlin wall clock like the articles.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The words to look for (see QUERY SYNTAX).")
    var text: [String]

    @Option(name: [.short, .long], parsing: .unconditional, help: "At most this many results.")
    var limit: Int = 20

    @Option(name: .long, help: "Only in this category (case does not matter; see `categories`).")
    var category: String?

    @Option(name: .long, help: ArgumentHelp("Only articles published on or after this day (YYYY-MM-DD or DD.MM.YYYY).", valueName: "date"))
    var since: DayArgument?

    @Option(name: .long, help: ArgumentHelp("Only articles published on or before this day (YYYY-MM-DD or DD.MM.YYYY).", valueName: "date"))
    var until: DayArgument?

    func validate() throws {
        let query = text.joined(separator: " ")
        if query.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("give some words to search for") }
        if SearchQuery.onlyExcludes(query) {
            throw ValidationError("every word is excluded (NOT, -): give at least one word to find, e.g. Berlin NOT Wetter")
        }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let since, let until, until.endOfDay < since.startOfDay { throw ValidationError("--until is before --since") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            if try await store.isFullTextIndexPending() {
                console.note("building the search index first (after an upgrade, or a pull that stopped before it was built); this takes a while once…")
            }
            let exactCategory = try await category.asyncMap { try await resolveCategory($0, in: store) }
            let filter = ListFilter(category: exactCategory, from: since?.startOfDay, to: until?.endOfDay, limit: limit)
            let result = try await store.searchResult(text.joined(separator: " "), filter: filter)
            let hits = result.hits
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
            if !result.ranked {
                console.note("more than \(ReplicaStore.rankedMatchLimit) articles match, too many to rank: these are the latest received; add a word to narrow it")
            }
            return .ok
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

private struct HitJSON: Encodable {
    var article: SummaryJSON
    var snippet: String
    var rank: Double
}
