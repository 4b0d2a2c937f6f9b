import ArgumentParser
import ArticleSyncServer

/// `articlesyncd token add|revoke|list`: manages the token file the server reads with `--tokens`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, revoke and list access tokens.",
        discussion: """
            The token file keeps only SHA-256 hashes of tokens: a token is printed once, when it is \
            made, and cannot be recovered. The server rereads the file when it changes, without a \
            restart: a new token is accepted from the next connection, and a revoked one is refused \
            from then on and ends the connections that hold it within 5 seconds.
            """,
        subcommands: [Add.self, Revoke.self, List.self]
    )

    struct FileOption: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("The token file (the one `serve --tokens` reads).", valueName: "path"))
        var file: String
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token, store its hash and print the token once.",
            discussion: "The token file is created when missing, readable by its owner only (mode 0600)."
        )

        @OptionGroup var file: FileOption

        @Option(help: ArgumentHelp("read (pull, verify) or write (push, and read).", valueName: "read|write"))
        var role: String

        @Option(help: ArgumentHelp("A name for the token, e.g. the machine that uses it (letters, digits, . _ - @).", valueName: "name"))
        var name: String

        @Flag(help: "Print only the token (for scripts).")
        var quiet = false

        func validate() throws {
            guard role == "read" || role == "write" else {
                throw ValidationError("--role must be read or write, not \"\(role)\"")
            }
            guard TokenFile.isValidName(name) else {
                throw ValidationError("--name must be 1-64 characters from letters, digits, . _ - @")
            }
        }

        func run() throws {
            // TokenFileError reads as a sentence; ArgumentParser prints it after "Error: ".
            let made = try TokenAdministration.add(path: file.file, name: name, role: role)
            if quiet {
                print(made.token)
                return
            }
            print(
                """
                New \(role) token "\(name)". It is shown only now and cannot be recovered; copy it to the client:

                  \(made.token)

                On the client, keep it in a file only you can read and pass that file:
                  (umask 077; cat > ~/.config/articlesync/token)    # paste the token, then Ctrl-D
                  articlesync pull --tls --token-file ~/.config/articlesync/token --server HOST:7420
                or set ARTICLESYNC_TOKEN in the client's environment.
                Its SHA-256 is in \(file.file); the server accepts it from the next connection.
                """
            )
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a token: the server refuses it and ends the connections that hold it within 5 seconds."
        )

        @OptionGroup var file: FileOption

        @Option(help: ArgumentHelp("The token's name (see `token list`).", valueName: "name"))
        var name: String

        func run() throws {
            let entry = try TokenAdministration.revoke(path: file.file, name: name)
            print("Revoked the \(entry.role.tokenFileName) token \"\(entry.name)\" (made \(entry.created)).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the tokens in the file (names, roles, dates; tokens themselves are not stored)."
        )

        @OptionGroup var file: FileOption

        func run() throws {
            let entries = try TokenAdministration.list(path: file.file)
            guard !entries.isEmpty else {
                print("No tokens in \(file.file). Make one with: articlesyncd token add --file \(file.file) --role read --name NAME")
                return
            }
            let width = max(4, entries.map(\.name.count).max() ?? 4)
            func padded(_ text: String, _ width: Int) -> String {
                text + String(repeating: " ", count: max(0, width - text.count))
            }
            print("\(padded("NAME", width))  ROLE   CREATED               SHA-256 (first 16 hex digits)")
            for entry in entries {
                let hash = String(entry.hash.description.prefix(16))
                print("\(padded(entry.name, width))  \(padded(entry.role.tokenFileName, 5))  \(entry.created)  \(hash)")
            }
        }
    }
}
