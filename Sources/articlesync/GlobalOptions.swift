import ArgumentParser
import ArticleSyncClient
import Foundation

/// Options of the commands that talk to a server: the replica's options plus where the server is
/// and how to reach it. Each one falls back to the environment, then to the config file
/// (`ClientSettings`).
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The server, HOST[:PORT] (port 7420 when omitted). Default: $ARTICLESYNC_SERVER, else `server` in the config file.",
            valueName: "host:port"))
    var server: String?

    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp(
            "Read the access token from this file (default: $ARTICLESYNC_TOKEN, else `token-file` in the config file, else none).",
            valueName: "path"))
    var tokenFile: String?

    @OptionGroup(title: "TLS")
    var security: ClientSecurityOptions

    @OptionGroup var local: ReplicaOptions

    var environment: [String: String] { local.environment }
    var replicaPath: String { local.replicaPath }
    var json: Bool { local.json }
    var quiet: Bool { local.quiet }

    var commandLine: CommandLineSettings {
        var flags = local.commandLine
        flags.server = server
        flags.tokenFile = tokenFile
        flags.tls = security.tls
        flags.pin = security.pin
        flags.caFile = security.caFile
        flags.replacePin = security.replacePin
        return flags
    }

    /// Flags, environment and config file, resolved (the file was checked in `validate()`).
    func settings() throws -> ClientSettings {
        try ClientSettings.resolve(commandLine, environment: environment)
    }

    /// The server to talk to, or nil when none is configured.
    func serverAddressIfConfigured() throws -> ServerAddress? {
        try settings().server?.value
    }

    func clientConfiguration() throws -> ClientConfiguration {
        guard let configuration = try clientConfigurationIfConfigured() else {
            throw ValidationError(
                "no server given: pass --server HOST:PORT, set ARTICLESYNC_SERVER, or put `server = \"HOST:PORT\"` in the config file (`articlesync config show` says where it is)")
        }
        return configuration
    }

    func clientConfigurationIfConfigured() throws -> ClientConfiguration? {
        let settings = try settings()
        let configuration = try settings.clientConfiguration(environment: environment, prompt: TerminalTrustPrompt())
        if configuration != nil, let warning = settings.tokenFileWarning { console.note("warning: \(warning)") }
        return configuration
    }

    /// The config file's `mirror`, for `pull` when neither --mirror nor --no-mirror is given.
    var configuredMirror: Bool? {
        (try? settings())?.mirror?.value
    }

    var console: Console { local.console }
}

/// Options of every command, including the offline ones (list, show, search, export), whose help
/// therefore does not mention servers, tokens or TLS.
struct ReplicaOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The replica file. Default: $ARTICLESYNC_REPLICA, else `replica` in the config file, else $XDG_DATA_HOME/articlesync/replica.sqlite or ~/.local/share/articlesync/replica.sqlite.",
            valueName: "path"))
    var replica: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The config file (TOML: server, tls, pin, ca-file, token-file, replica, mirror, files, layout). Default: $ARTICLESYNC_CONFIG, else $XDG_CONFIG_HOME/articlesync/config or ~/.config/articlesync/config. Flags and environment variables override it; `articlesync config show` shows what is in effect.",
            valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Machine-readable JSON on stdout: one object, or one per line for commands that stream (pull, export); a failure is {\"error\":…,\"exitCode\":…}.")
    var json = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    var commandLine: CommandLineSettings {
        var flags = CommandLineSettings()
        flags.config = config
        flags.replica = replica
        return flags
    }

    /// Checks the config file and the replica's path once, before any command runs, and says what
    /// is wrong in a sentence (not a usage screen).
    func validate() throws {
        do throws(ClientError) {
            let settings = try ClientSettings.resolve(commandLine, environment: environment, knownServers: false)
            try Self.checkReplicaPath(settings.replica)
        } catch {
            console.error(error.message, status: error.status)
            throw ExitCode(error.status.rawValue)
        }
    }

    /// A directory is not a replica: said so here, before SQLite calls it a disk I/O error.
    static func checkReplicaPath(_ replica: Setting<String>) throws(ClientError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: replica.value, isDirectory: &isDirectory), isDirectory.boolValue else { return }
        let from = replica.origin == .defaultValue ? "" : " (from \(replica.origin))"
        throw ClientError(
            .usage,
            "the replica \(replica.value)\(from) is a directory, not a replica file: name the file, e.g. --replica \((replica.value as NSString).appendingPathComponent("replica.sqlite"))")
    }

    var replicaPath: String {
        if let settings = try? ClientSettings.resolve(commandLine, environment: environment, knownServers: false) {
            return settings.replica.value
        }
        if let replica, !replica.isEmpty { return replica }
        if let path = environment[ClientSettings.replicaVariable], !path.isEmpty { return path }
        return Replica.defaultPath(environment: environment)
    }

    var console: Console { Console(json: json, quiet: quiet) }
}
