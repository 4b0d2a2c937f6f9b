import ArgumentParser
import ArticleStore
import ArticleSyncProtocol

/// The articlesync server's command line. Parsing and wiring only: the server itself lives in the
/// ArticleSyncServer library, the store and its importer in ArticleStore.
@main
struct Articlesyncd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "articlesyncd",
        abstract: "Serve a canonical article store to articlesync clients over TCP.",
        discussion: """
            The wire protocol is described in Protocol/PROTOCOL.md. Start with
            `articlesyncd serve --store articles.sqlite --import ./seed`.
            """,
        version: ArticleSyncVersion.current,
        subcommands: [ServeCommand.self, StatusCommand.self, ImportCommand.self, PurgeTombstonesCommand.self, TokenCommand.self, CertCommand.self]
    )

    static func main() async {
        Allocator.limitArenas()
        await main(nil)
    }
}
