import ArgumentParser
import ArticleSyncClient

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the settings in effect and where each one came from.",
        discussion: """
            The config file is TOML, one `key = value` per line, each key a flag's long name:

              server = "10.0.0.5:7420"
              pin = "SHA256:ab:cd:…"          # implies TLS; tls = true for a CA-signed server
              token-file = "~/.config/articlesync/token"
              replica = "/backup/articles.sqlite"
              mirror = true                    # pull keeps a mirror (pull --no-mirror overrides)

            ca-file is the other TLS key. files is the plain-file tree `pull` keeps (pull --files) and \
            layout its layout (flat, shard, date or source; `export --help`). \
            Paths may start with ~/; relative ones are relative to the file's folder.

            A flag wins over an environment variable, which wins over the file. TLS is also used, \
            without --tls, for a server whose certificate is remembered in known_servers.
            """,
        subcommands: [Show.self],
        defaultSubcommand: Show.self
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print each effective setting, its value and its origin (flag, environment, config file line, default)."
        )

        @OptionGroup var options: GlobalOptions

        func run() throws {
            let console = options.console
            let settings: ClientSettings
            do {
                settings = try options.settings()
            } catch let error as ClientError {
                console.error(error.message, status: error.status)
                throw ExitCode(error.status.rawValue)
            }
            let rows = Self.rows(settings)
            console.emit(ConfigJSON(settings: settings, rows: rows))
            let configLine: String
            if let path = settings.configPath {
                let state = settings.configFile == nil ? "not there: every setting below is a flag, a variable or a default" : "read"
                configLine = "\(path.value) (\(state))"
            } else {
                configLine = "none ($HOME is not set)"
            }
            console.say("config file: \(configLine)")
            let width = rows.map(\.key.count).max() ?? 0
            for row in rows {
                let key = row.key.padding(toLength: width, withPad: " ", startingAt: 0)
                let value = row.value.map { value in row.note.map { "\(value) (\($0))" } ?? value } ?? "(not set)"
                console.say("  \(key)  \(value)" + (row.origin.map { "    [\($0)]" } ?? ""))
            }
        }

        struct Row: Encodable {
            var key: String
            /// As the config file would spell it (JSON prints this alone).
            var value: String?
            var origin: String?
            /// What the value means, for a person reading the text.
            var note: String? = nil

            enum CodingKeys: String, CodingKey { case key, value, origin }
        }

        static func rows(_ settings: ClientSettings) -> [Row] {
            func row<Value>(_ key: String, _ setting: Setting<Value>?, note: ((Value) -> String)? = nil, _ text: (Value) -> String) -> Row {
                Row(
                    key: key, value: setting.map { text($0.value) }, origin: setting.map { "\($0.origin)" },
                    note: setting.flatMap { setting in note.map { $0(setting.value) } })
            }
            let token: Row
            if let source = settings.token {
                if case .environment = source.origin {
                    token = Row(key: "token", value: "(from the environment, not shown)", origin: "\(source.origin)")
                } else {
                    token = Row(key: "token-file", value: source.value, origin: "\(source.origin)")
                }
            } else {
                token = Row(key: "token-file", value: nil, origin: nil)
            }
            return [
                row("server", settings.server) { "\($0)" },
                row("tls", settings.tls) { $0 ? "on" : "off" },
                row("pin", settings.pin) { "\($0)" },
                row("ca-file", settings.caFile) { $0 },
                token,
                row("replica", settings.replica) { $0 },
                row("mirror", settings.mirror, note: { $0 ? "pull keeps a mirror" : "pull keeps a reading replica" }) { $0 ? "true" : "false" },
                row("files", settings.files, note: { _ in "the plain-file tree pull keeps" }) { $0 },
                row("layout", settings.layout, note: { _ in "the plain-file tree's layout" }) { "\($0)" },
                Row(key: "known_servers", value: settings.knownServersPath, origin: settings.knownServersPath.map { _ in "default" }),
            ]
        }
    }
}

private struct ConfigJSON: Encodable {
    var configFile: String?
    var configFileExists: Bool
    var settings: [ConfigCommand.Show.Row]

    init(settings: ClientSettings, rows: [ConfigCommand.Show.Row]) {
        configFile = settings.configPath?.value
        configFileExists = settings.configFile != nil
        self.settings = rows
    }
}
