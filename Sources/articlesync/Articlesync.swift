import ArgumentParser
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
            ca-file, token-file, replica, mirror, files, layout. Flags and the variables below override it; \
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
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            reportForScripts(error)
            exit(withError: error)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let error as ValidationError {
            reportForScripts(error)
            // Thrown while the subcommand ran (a setting it found missing): point to its help, not
            // to the root's usage line.
            let name = type(of: command).configuration.commandName.map { "articlesync \($0)" } ?? "articlesync"
            Console.write("Error: \(message(for: error))\n  See '\(name) --help' for more information.\n", to: STDERR_FILENO)
            exit(withError: ExitCode(exitCode(for: error).rawValue))
        } catch {
            reportForScripts(error)
            exit(withError: error)
        }
    }

    /// With --json, every failure is also a JSON object on stdout, as the commands print theirs:
    /// a script that reads stdout learns why, not only that, it failed. An `ExitCode` was reported
    /// by the command already (`Console.run`), and help or --version is no failure.
    static func reportForScripts(_ error: any Error) {
        guard !(error is ExitCode), CommandLine.arguments.dropFirst().prefix(while: { $0 != "--" }).contains("--json") else { return }
        let code = exitCode(for: error).rawValue
        guard code != 0 else { return }
        Console.write(Console.encode(ErrorJSON(error: message(for: error), exitCode: code)) + "\n", to: STDOUT_FILENO)
    }
}
