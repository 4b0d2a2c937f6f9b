import ArgumentParser
import ArticleModel
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one article, readable in a terminal (offline).",
        discussion: "Paragraphs are wrapped to the terminal's width (at most 100 columns). --source prints the exact source instead."
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The article's id (see `list`).")
    var id: String

    @Flag(name: .long, help: "Print the article's exact source file (seed format), byte for byte.")
    var source = false

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            guard let stored = try await store.article(id: id) else {
                throw ClientError(.failure, "no article \"\(id)\" in the replica \(options.replicaPath)")
            }
            let article = stored.article
            if console.json {
                console.emit(ArticleJSON(
                    id: stored.id, revision: stored.revision, published: article.published.isoText, category: article.category,
                    title: article.title, paragraphs: article.paragraphs, contentHash: hexString(stored.contentHash)))
                return .ok
            }
            if source {
                // Byte for byte into a pipe or a file; on a terminal, control characters are escaped.
                let text = String(decoding: article.source, as: UTF8.self)
                if !console.quiet { Console.write(Console.stdoutIsTerminal ? TerminalText.escaped(text) : text, to: 1) }
                return .ok
            }
            let width = min(100, Console.stdoutIsTerminal ? Console.width : 80)
            console.say("\(article.published) · \(article.category)")
            console.say("")
            for line in wrap(article.title, width: width) { console.say(bold: line) }
            console.say(String(repeating: "─", count: min(width, article.title.count)))
            for paragraph in article.paragraphs {
                console.say("")
                for line in wrap(paragraph, width: width) { console.say(line) }
            }
            console.say("")
            console.say("[\(stored.id) · revision \(stored.revision)]")
            return .ok
        }
    }
}

private struct ArticleJSON: Encodable {
    var id: String
    var revision: UInt64
    var published: String
    var category: String
    var title: String
    var paragraphs: [String]
    var contentHash: String
}
