import ArgumentParser
import ArticleModel
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one article, readable in a terminal (offline).",
        discussion: """
            The id may be shortened to any prefix that names one article, as with git's commit ids \
            (`articlesync show 2f91`); an ambiguous prefix lists the ids it could mean.

            On a terminal the article goes through $PAGER (default `less -R`; with less, $LESS \
            defaults to FRX, so a short article is printed and the pager quits). PAGER=cat, a pipe \
            or --no-pager prints it directly. Paragraphs are wrapped to the terminal's width (at \
            most 100 columns). --source prints the exact source instead.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The article's id, or a unique prefix of it (see `list`).")
    var id: String

    @Flag(name: .long, help: "Print the article's exact source file (seed format), byte for byte.")
    var source = false

    @Flag(name: .long, help: "Print to the terminal directly, without $PAGER.")
    var noPager = false

    func validate() throws {
        if id.isEmpty { throw ValidationError("give an article id, or a prefix of one (`articlesync list` shows them)") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            let fullID = try await resolveArticleID(id, in: store, replicaPath: options.replicaPath)
            guard let stored = try await store.article(id: fullID) else {
                throw ClientError(.failure, "no article \"\(id)\" in the replica \(options.replicaPath)")
            }
            let article = stored.article
            if console.json {
                console.emit(ArticleJSON(
                    id: stored.id, revision: stored.revision, published: article.published.isoText, category: article.category,
                    title: article.title, paragraphs: article.paragraphs, contentHash: hexString(stored.contentHash)))
                return .ok
            }
            if console.quiet { return .ok }
            let terminal = Console.stdoutIsTerminal
            let text: String
            if source {
                // Byte for byte into a pipe or a file; on a terminal, control characters are escaped.
                let raw = String(decoding: article.source, as: UTF8.self)
                text = terminal ? TerminalText.escaped(raw) : raw
            } else {
                text = Self.render(stored, width: min(100, terminal ? Console.width : 80), bold: terminal)
            }
            if terminal && !noPager, let pager = Pager(environment: options.environment) {
                if pager.show(text) { return .ok }
            }
            Console.write(text, to: STDOUT_FILENO)
            return .ok
        }
    }

    /// The article for people, every server-sent field escaped; bold (the only escape sequence we
    /// send ourselves) for the title on a terminal.
    static func render(_ stored: StoredArticle, width: Int, bold: Bool) -> String {
        let article = stored.article
        let (on, off) = bold ? ("\u{1B}[1m", "\u{1B}[0m") : ("", "")
        var lines = [TerminalText.escaped("\(article.published) · \(article.category)"), ""]
        for line in wrap(article.title, width: width) { lines.append(on + TerminalText.escaped(line) + off) }
        lines.append(String(repeating: "─", count: min(width, article.title.count)))
        for paragraph in article.paragraphs {
            lines.append("")
            for line in wrap(paragraph, width: width) { lines.append(TerminalText.escaped(line)) }
        }
        lines.append("")
        lines.append(TerminalText.escaped("[\(stored.id) · revision \(stored.revision)]"))
        return lines.joined(separator: "\n") + "\n"
    }
}

/// $PAGER (default `less -R`), run by /bin/sh as git does, fed on its stdin.
struct Pager {
    var command: String
    var environment: [String: String]

    /// Nil when paging is off: PAGER set to "" or "cat".
    init?(environment: [String: String]) {
        let command = environment["PAGER"] ?? "less -R"
        guard !command.trimmingCharacters(in: .whitespaces).isEmpty, command.trimmingCharacters(in: .whitespaces) != "cat" else { return nil }
        self.command = command
        var environment = environment
        if environment["LESS"] == nil { environment["LESS"] = "FRX" }
        self.environment = environment
    }

    /// Whether the pager ran; false when it could not start (then the caller prints directly).
    func show(_ text: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = environment
        let input = Pipe()
        process.standardInput = input
        do {
            try process.run()
        } catch {
            return false
        }
        // The reader may quit the pager before reading everything: a write to the closed pipe must
        // end quietly, not with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        Console.write(text, to: input.fileHandleForWriting.fileDescriptor)
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        // 127: the shell found no such command.
        return !(process.terminationReason == .exit && process.terminationStatus == 127)
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
