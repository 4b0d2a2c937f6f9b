import ArgumentParser
import ArticleSyncClient
import Foundation

/// Options of the commands that talk to a server: the replica's options plus where the server is
/// and how to reach it.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The server, HOST[:PORT] (port 7420 when omitted). Default: $ARTICLESYNC_SERVER.",
            valueName: "host:port"))
    var server: String?


    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp("Read the access token from this file (default: $ARTICLESYNC_TOKEN, else none).", valueName: "path"))
    var tokenFile: String?

    @OptionGroup(title: "TLS")
    var security: ClientSecurityOptions

    @OptionGroup var local: ReplicaOptions

    var environment: [String: String] { local.environment }
    var replicaPath: String { local.replicaPath }
    var json: Bool { local.json }
    var quiet: Bool { local.quiet }

    /// The server to talk to, or nil when none is configured.
    func serverAddressIfConfigured() throws -> ServerAddress? {
        guard let text = server ?? environment["ARTICLESYNC_SERVER"], !text.isEmpty else { return nil }
        guard let address = ServerAddress(parsing: text) else {
            throw ValidationError("'\(text)' is not a server address: expected HOST or HOST:PORT, e.g. 10.0.0.5:7420")
        }
        return address
    }

    func clientConfiguration() throws -> ClientConfiguration {
        guard let address = try serverAddressIfConfigured() else {
            throw ValidationError("no server given: pass --server HOST:PORT or set ARTICLESYNC_SERVER")
        }
        return ClientConfiguration(
            address: address, token: try token(), readTimeout: try ClientConfiguration.readTimeout(environment: environment),
            tls: security.tlsOptions(environment: environment))
    }

    func clientConfigurationIfConfigured() throws -> ClientConfiguration? {
        guard try serverAddressIfConfigured() != nil else { return nil }
        return try clientConfiguration()
    }

    /// From --token-file or ARTICLESYNC_TOKEN: never a plain flag, which would show in `ps`.
    func token() throws -> String {
        try AccessTokenSource.load(tokenFile: tokenFile, environment: environment)
    }

    var console: Console { local.console }
}

/// Options of every command, including the offline ones (list, show, search, export), whose help
/// therefore does not mention servers, tokens or TLS.
struct ReplicaOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The replica file. Default: $ARTICLESYNC_REPLICA, else $XDG_DATA_HOME/articlesync/replica.sqlite or ~/.local/share/articlesync/replica.sqlite.",
            valueName: "path"))
    var replica: String?

    @Flag(name: .long, help: "Machine-readable JSON on stdout (pull prints one JSON object per line).")
    var json = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    var replicaPath: String {
        if let replica, !replica.isEmpty { return replica }
        if let path = environment["ARTICLESYNC_REPLICA"], !path.isEmpty { return path }
        return Replica.defaultPath(environment: environment)
    }

    var console: Console { Console(json: json, quiet: quiet) }
}
