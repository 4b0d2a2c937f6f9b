import ArgumentParser
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol

@main
struct Articlesync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "articlesync",
        abstract: "Keep a local replica of an articlesync archive: pull, read offline, verify, push.",
        discussion: """
            The replica is a single SQLite file. Reading commands (list, show, search, export) work \
            offline; pull, status, verify and push talk to the server.

            CONFIG FILE: ~/.config/articlesync/config ($XDG_CONFIG_HOME/articlesync/config, or \
            --config, $ARTICLESYNC_CONFIG) holds the settings you would repeat: server, tls, pin, \
            ca-file, token-file, replica, mirror. Flags and the variables below override it; \
            `articlesync config show` prints what is in effect and where it came from.

            ENVIRONMENT:
              ARTICLESYNC_SERVER   default for --server: HOST[:PORT] (port 7420)
              ARTICLESYNC_REPLICA  default for --replica
              ARTICLESYNC_TOKEN    access token (or --token-file)
              ARTICLESYNC_CONFIG   default for --config
              ARTICLESYNC_READ_TIMEOUT  seconds a server may stay silent, or take over one frame (default 120)
              ARTICLESYNC_HANDSHAKE_TIMEOUT  seconds for TLS, HELLO and WELCOME together (default 10)

            SHELL COMPLETION: `articlesync --generate-completion-script bash` (or zsh, fish) prints \
            a completion script; scripts/install puts them where the shells look.

            EXIT CODES:
            \(ExitStatus.table)
            """,
        version: ArticleSyncVersion.current,
        subcommands: [
            PullCommand.self, StatusCommand.self, ListCommand.self, ShowCommand.self,
            SearchCommand.self, ExportCommand.self, VerifyCommand.self, PushCommand.self, ConfigCommand.self,
            CategoriesCommand.self, ReadCommand.self, LogCommand.self, DiffCommand.self,
        ]
    )

    static func main() async {
        Allocator.limitArenas()
        await main(nil)
    }
}
