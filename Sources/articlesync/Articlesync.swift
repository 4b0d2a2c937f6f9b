import ArgumentParser
import ArticleStore
import ArticleSyncClient

@main
struct Articlesync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "articlesync",
        abstract: "Keep a local replica of an articlesync archive: pull, read offline, verify, push.",
        discussion: """
            The replica is a single SQLite file. Reading commands (list, show, search, export) work \
            offline; pull, status, verify and push talk to the server.

            ENVIRONMENT:
              ARTICLESYNC_SERVER   default for --server: HOST[:PORT] (port 7420)
              ARTICLESYNC_REPLICA  default for --replica
              ARTICLESYNC_TOKEN    access token (or --token-file)
              ARTICLESYNC_READ_TIMEOUT  seconds a server may stay silent, or take over one frame (default 120)

            EXIT CODES:
            \(ExitStatus.table)
            """,
        version: "1.0.0",
        subcommands: [
            PullCommand.self, StatusCommand.self, ListCommand.self, ShowCommand.self,
            SearchCommand.self, ExportCommand.self, VerifyCommand.self, PushCommand.self,
            CategoriesCommand.self, ReadCommand.self,
        ]
    )

    static func main() async {
        Allocator.limitArenas()
        await main(nil)
    }
}
