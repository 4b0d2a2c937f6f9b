/// Where a setting's value came from, for `articlesync config show` and for errors.
public enum SettingOrigin: Sendable, Equatable, CustomStringConvertible {
    case flag(String)
    case environment(String)
    case configFile(path: String, line: Int)
    /// TLS turned on because known_servers remembers a certificate for the server.
    case knownServers(path: String, line: Int)
    case defaultValue

    public var description: String {
        switch self {
        case .flag(let name): name
        case .environment(let name): "$\(name)"
        case .configFile(let path, let line): "\(path) line \(line)"
        case .knownServers(let path, let line): "a pin in \(path) line \(line)"
        case .defaultValue: "default"
        }
    }
}

public struct Setting<Value: Sendable>: Sendable {
    public var value: Value
    public var origin: SettingOrigin

    public init(_ value: Value, _ origin: SettingOrigin) {
        self.value = value
        self.origin = origin
    }
}

extension Setting: Equatable where Value: Equatable {}

/// What the command line said, before the environment and the config file fill in the rest.
public struct CommandLineSettings: Sendable {
    public var config: String?
    public var server: String?
    public var tls = false
    public var pin: String?
    public var caFile: String?
    public var tokenFile: String?
    public var replacePin = false
    public var replica: String?
    /// `pull --mirror` (true) or `--no-mirror` (false).
    public var mirror: Bool?

    public init() {}
}

/// The client's effective settings, each with its origin. Precedence: a flag, then an environment
/// variable, then the config file, then the default. TLS is also on when a TLS setting (`pin`,
/// `ca-file`) is given anywhere, or when known_servers remembers a certificate for the server: a
/// server pinned once is never spoken to in plain TCP again by mistake.
public struct ClientSettings: Sendable {
    /// The config file read (it may not exist), and what named it.
    public var configPath: Setting<String>?
    public var configFile: ConfigFile?
    public var server: Setting<ServerAddress>?
    public var tls: Setting<Bool>
    public var pin: Setting<CertificateFingerprint>?
    public var caFile: Setting<String>?
    /// The token's source: a file, or `$ARTICLESYNC_TOKEN` (value: the variable's name).
    public var token: Setting<String>?
    public var replacePin: Bool
    public var replica: Setting<String>
    public var mirror: Setting<Bool>?
    public var files: Setting<String>?
    public var layout: Setting<String>?
    public var knownServersPath: String?

    public static let serverVariable = "ARTICLESYNC_SERVER"
    public static let replicaVariable = "ARTICLESYNC_REPLICA"

    /// Reads the config file (when there is one) and resolves every setting. Without
    /// `knownServers`, TLS is decided without reading known_servers (for commands that never
    /// connect, which must not fail on it).
    public static func resolve(
        _ flags: CommandLineSettings, environment: [String: String], knownServers: Bool = true
    ) throws(ClientError) -> ClientSettings {
        let configPath: Setting<String>?
        if let path = flags.config, !path.isEmpty {
            configPath = Setting(path, .flag("--config"))
        } else if let path = environment[ConfigFile.pathVariable], !path.isEmpty {
            configPath = Setting(path, .environment(ConfigFile.pathVariable))
        } else {
            configPath = ConfigFile.defaultPath(environment: environment).map { Setting($0, .defaultValue) }
        }
        var file: ConfigFile? = nil
        if let configPath {
            file = try ConfigFile.load(path: configPath.value, environment: environment)
            // A file named on purpose must exist: a typo would otherwise run with no settings.
            if file == nil && configPath.origin != .defaultValue {
                throw ClientError(.usage, "no config file at \(configPath.value) (named by \(configPath.origin))")
            }
        }
        return try resolve(flags, environment: environment, configPath: configPath, file: file, knownServers: knownServers)
    }

    /// Resolves every setting from the three sources (the file already read).
    public static func resolve(
        _ flags: CommandLineSettings, environment: [String: String], configPath: Setting<String>?, file: ConfigFile?,
        knownServers: Bool = true
    ) throws(ClientError) -> ClientSettings {
        func fromFile(_ key: ConfigFile.Key) -> Setting<String>? {
            guard let file, let entry = file.string(key) else { return nil }
            return Setting(entry.value, .configFile(path: file.path, line: entry.line))
        }
        func fromFileBool(_ key: ConfigFile.Key) -> Setting<Bool>? {
            guard let file, let entry = file.bool(key) else { return nil }
            return Setting(entry.value, .configFile(path: file.path, line: entry.line))
        }
        func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

        let serverText: Setting<String>? =
            nonEmpty(flags.server).map { Setting($0, .flag("--server")) }
            ?? nonEmpty(environment[serverVariable]).map { Setting($0, .environment(serverVariable)) }
            ?? fromFile(.server)
        var server: Setting<ServerAddress>? = nil
        if let serverText {
            guard let address = ServerAddress(parsing: serverText.value) else {
                throw ClientError(
                    .usage, "'\(serverText.value)' (\(serverText.origin)) is not a server address: expected HOST or HOST:PORT, e.g. 10.0.0.5:7420")
            }
            server = Setting(address, serverText.origin)
        }

        let pinText = nonEmpty(flags.pin).map { Setting($0, .flag("--pin")) } ?? fromFile(.pin)
        var pin: Setting<CertificateFingerprint>? = nil
        if let pinText {
            guard let fingerprint = CertificateFingerprint(parsing: pinText.value) else {
                throw ClientError(.usage, "the pin (\(pinText.origin)) must be a SHA-256 fingerprint: SHA256: and 32 hex pairs")
            }
            pin = Setting(fingerprint, pinText.origin)
        }
        if flags.replacePin && pin == nil {
            throw ClientError(.usage, "--replace-pin needs the server's new fingerprint: --pin SHA256:… (or `pin` in the config file)")
        }
        let caFile = nonEmpty(flags.caFile).map { Setting($0, .flag("--ca-file")) } ?? fromFile(.caFile)

        let knownServersPath = KnownServers.defaultPath(environment: environment)
        var tls: Setting<Bool>
        if flags.tls {
            tls = Setting(true, .flag("--tls"))
        } else if let pin {
            tls = Setting(true, pin.origin)
        } else if let caFile {
            tls = Setting(true, caFile.origin)
        } else if let fromFile = fromFileBool(.tls) {
            tls = fromFile
        } else {
            tls = Setting(false, .defaultValue)
        }
        if !tls.value, knownServers, let server, let knownServersPath,
            let entry = try KnownServers(path: knownServersPath).entry(for: server.value)
        {
            // `tls = false` in the file does not win over a pin: speaking plain TCP to a pinned
            // server would send the token (and trust) without the certificate check it was given.
            tls = Setting(true, .knownServers(path: knownServersPath, line: entry.line))
        }

        let token: Setting<String>? =
            nonEmpty(flags.tokenFile).map { Setting($0, .flag("--token-file")) }
            ?? nonEmpty(environment[AccessTokenSource.environmentVariable]).map { _ in
                Setting(AccessTokenSource.environmentVariable, .environment(AccessTokenSource.environmentVariable))
            }
            ?? fromFile(.tokenFile)

        let replica =
            nonEmpty(flags.replica).map { Setting($0, .flag("--replica")) }
            ?? nonEmpty(environment[replicaVariable]).map { Setting($0, .environment(replicaVariable)) }
            ?? fromFile(.replica)
            ?? Setting(Replica.defaultPath(environment: environment), .defaultValue)

        let mirror = flags.mirror.map { Setting($0, .flag($0 ? "--mirror" : "--no-mirror")) } ?? fromFileBool(.mirror)

        return ClientSettings(
            configPath: configPath, configFile: file, server: server, tls: tls, pin: pin, caFile: caFile, token: token,
            replacePin: flags.replacePin, replica: replica, mirror: mirror, files: fromFile(.files), layout: fromFile(.layout),
            knownServersPath: knownServersPath)
    }

    /// The token to send: "" when none is configured.
    public func loadToken(environment: [String: String]) throws(ClientError) -> String {
        guard let token else { return "" }
        if case .environment = token.origin {
            return try AccessTokenSource.load(tokenFile: nil, environment: environment)
        }
        return try AccessTokenSource.load(tokenFile: token.value, environment: [:])
    }

    /// The configured token file's permission warning (`AccessTokenSource.permissionWarning`).
    public var tokenFileWarning: String? {
        guard let token else { return nil }
        if case .environment = token.origin { return nil }
        return AccessTokenSource.permissionWarning(tokenFile: token.value)
    }

    /// TLS as configured, or nil for plain TCP.
    public func tlsOptions(prompt: any TrustPrompt) -> ClientTLSOptions? {
        guard tls.value else { return nil }
        return ClientTLSOptions(
            caFile: caFile?.value, pin: pin?.value, replacesRememberedPin: replacePin,
            knownServersPath: knownServersPath, prompt: prompt)
    }

    /// How to reach the configured server; nil when none is configured.
    public func clientConfiguration(environment: [String: String], prompt: any TrustPrompt) throws(ClientError) -> ClientConfiguration? {
        guard let server else { return nil }
        return ClientConfiguration(
            address: server.value, token: try loadToken(environment: environment),
            readTimeout: try ClientConfiguration.readTimeout(environment: environment),
            handshakeTimeout: try ClientConfiguration.handshakeTimeout(environment: environment),
            tls: tlsOptions(prompt: prompt))
    }
}
