import ArticleSyncClient
import Foundation
import Testing

/// The config file: what it accepts, how a mistake in it is named (file, line, key), and how flags,
/// environment, the file and known_servers combine.
@Suite struct ConfigFileTests {
    let pin = "SHA256:" + Array(repeating: "ab", count: 32).joined(separator: ":")
    let environment = ["HOME": "/home/ada"]

    func parse(_ text: String) throws(ClientError) -> ConfigFile {
        try ConfigFile.parse(text, path: "/home/ada/.config/articlesync/config", environment: environment)
    }

    func refusal(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "accepted"
        } catch {
            #expect(error.status == .usage)
            return error.message
        }
    }

    @Test func everyKeyIsReadWithItsLine() throws {
        let file = try parse(
            """
            # the backup host
            server = "10.0.0.5:7420"
            pin = "\(pin)"

            token-file = "~/.config/articlesync/token"
            replica = "/backup/articles.sqlite"
            mirror = true
            tls = true
            ca-file = "ca.pem"
            files = "/backup/files"
            layout = "shard"
            """)
        #expect(file.string(.server)?.value == "10.0.0.5:7420")
        #expect(file.string(.server)?.line == 2)
        #expect(file.string(.pin)?.line == 3)
        #expect(file.string(.tokenFile)?.value == "/home/ada/.config/articlesync/token")
        #expect(file.string(.tokenFile)?.line == 5)
        #expect(file.bool(.mirror)?.value == true)
        #expect(file.bool(.tls)?.line == 8)
        // Relative to the config file's folder, not to wherever the command runs.
        #expect(file.string(.caFile)?.value == "/home/ada/.config/articlesync/ca.pem")
        #expect(file.string(.files)?.value == "/backup/files")
        #expect(file.string(.layout)?.value == "shard")
    }

    @Test func aValueOfTheWrongTypeNamesTheFileTheLineAndTheKey() {
        let message = refusal("server = \"h:1\"\n\nmirror = \"yes\"\n")
        #expect(message.hasPrefix("/home/ada/.config/articlesync/config line 3: mirror: expected true or false"), "\(message)")
    }

    @Test func anUnknownKeyIsAnErrorNotASilentlyIgnoredSetting() {
        let message = refusal("server = \"h:1\"\nsrever = \"h:2\"\n")
        #expect(message.contains("config line 2: srever: unknown key"), "\(message)")
        #expect(message.contains("token-file"), "the known keys are listed: \(message)")
    }

    @Test func aSyntaxErrorNamesItsLine() {
        let message = refusal("server = \"h:1\"\ntls = \n")
        #expect(message.hasPrefix("/home/ada/.config/articlesync/config line 2: "), "\(message)")
    }

    @Test func badValuesAreNamedWithWhatIsExpected() {
        #expect(refusal("\n\nserver = \"host:99999\"").contains("line 3: server: 'host:99999' is not a server address"))
        #expect(refusal("pin = \"SHA256:00\"").contains("line 1: pin: expected a SHA-256 fingerprint"))
        #expect(refusal("layout = \"tree\"").contains("line 1: layout: 'tree' is not a layout: expected one of flat, shard, date, source"))
        #expect(refusal("replica = \"\"").contains("line 1: replica: is empty"))
        #expect(refusal("server = \"h\"\n[servers]\nx = 1").contains("line 2: servers: sections are not used"))
    }

    @Test func theDefaultPathFollowsXDGConfigHome() {
        #expect(ConfigFile.defaultPath(environment: ["HOME": "/home/ada"]) == "/home/ada/.config/articlesync/config")
        #expect(ConfigFile.defaultPath(environment: ["HOME": "/home/ada", "XDG_CONFIG_HOME": "/cfg"]) == "/cfg/articlesync/config")
        // A relative XDG_CONFIG_HOME is invalid by the spec and ignored.
        #expect(ConfigFile.defaultPath(environment: ["HOME": "/home/ada", "XDG_CONFIG_HOME": "cfg"]) == "/home/ada/.config/articlesync/config")
    }

    @Test func aFlagWinsOverTheEnvironmentWhichWinsOverTheFile() throws {
        let file = try parse("server = \"file:1\"\nreplica = \"/file.sqlite\"\ntoken-file = \"/file-token\"\nmirror = true\n")
        func resolve(_ flags: CommandLineSettings, _ environment: [String: String]) throws -> ClientSettings {
            try ClientSettings.resolve(
                flags, environment: environment.merging(["HOME": "/nonexistent-home"]) { a, _ in a },
                configPath: Setting(file.path, .defaultValue), file: file)
        }
        let fromFile = try resolve(CommandLineSettings(), [:])
        #expect(fromFile.server == Setting(ServerAddress(host: "file", port: 1), .configFile(path: file.path, line: 1)))
        #expect(fromFile.replica == Setting("/file.sqlite", .configFile(path: file.path, line: 2)))
        #expect(fromFile.token == Setting("/file-token", .configFile(path: file.path, line: 3)))
        #expect(fromFile.mirror?.value == true)
        #expect(fromFile.tls == Setting(false, .defaultValue))

        let environment = ["ARTICLESYNC_SERVER": "env:2", "ARTICLESYNC_REPLICA": "/env.sqlite", "ARTICLESYNC_TOKEN": "t0ken"]
        let fromEnvironment = try resolve(CommandLineSettings(), environment)
        #expect(fromEnvironment.server == Setting(ServerAddress(host: "env", port: 2), .environment("ARTICLESYNC_SERVER")))
        #expect(fromEnvironment.replica.value == "/env.sqlite")
        #expect(fromEnvironment.token?.origin == .environment("ARTICLESYNC_TOKEN"))

        var flags = CommandLineSettings()
        flags.server = "flag:3"
        flags.replica = "/flag.sqlite"
        flags.tokenFile = "/flag-token"
        flags.mirror = false
        let fromFlags = try resolve(flags, environment)
        #expect(fromFlags.server == Setting(ServerAddress(host: "flag", port: 3), .flag("--server")))
        #expect(fromFlags.replica == Setting("/flag.sqlite", .flag("--replica")))
        #expect(fromFlags.token == Setting("/flag-token", .flag("--token-file")))
        #expect(fromFlags.mirror == Setting(false, .flag("--no-mirror")))
    }

    @Test func aPinAnywhereTurnsTLSOn() throws {
        let file = try parse("server = \"h:1\"\npin = \"\(pin)\"\n")
        let settings = try ClientSettings.resolve(
            CommandLineSettings(), environment: ["HOME": "/nonexistent-home"], configPath: nil, file: file)
        #expect(settings.tls == Setting(true, .configFile(path: file.path, line: 2)))
        #expect(settings.tlsOptions(prompt: NonInteractiveTrustPrompt())?.pin == CertificateFingerprint(parsing: pin))
    }

    @Test func aServerRememberedInKnownServersIsSpokenToOverTLSWithoutAFlag() throws {
        let root = NSTemporaryDirectory() + "config-known-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/articlesync", withIntermediateDirectories: true)
        try "# pins\n10.0.0.5:7420 \(pin)\n".write(toFile: root + "/articlesync/known_servers", atomically: true, encoding: .utf8)
        let environment = ["XDG_DATA_HOME": root, "HOME": "/nonexistent-home"]

        var flags = CommandLineSettings()
        flags.server = "10.0.0.5"
        let pinned = try ClientSettings.resolve(flags, environment: environment, configPath: nil, file: nil)
        #expect(pinned.tls == Setting(true, .knownServers(path: root + "/articlesync/known_servers", line: 2)))
        let options = try #require(pinned.tlsOptions(prompt: NonInteractiveTrustPrompt()))
        #expect(options.pin == nil, "the remembered pin is enforced by TrustedConnector, not copied into a --pin")
        #expect(options.knownServersPath == root + "/articlesync/known_servers")

        // `tls = false` in the file does not send a pinned server plain TCP.
        let file = try parse("tls = false\n")
        #expect(try ClientSettings.resolve(flags, environment: environment, configPath: nil, file: file).tls.value)

        flags.server = "10.0.0.6"
        let other = try ClientSettings.resolve(flags, environment: environment, configPath: nil, file: nil)
        #expect(other.tls == Setting(false, .defaultValue))
        #expect(other.tlsOptions(prompt: NonInteractiveTrustPrompt()) == nil)
    }

    @Test func aConfigFileNamedOnPurposeMustExist() {
        var flags = CommandLineSettings()
        flags.config = "/nonexistent/articlesync.conf"
        #expect(throws: ClientError.self) { try ClientSettings.resolve(flags, environment: ["HOME": "/nonexistent-home"]) }
        // The default one is optional.
        #expect((try? ClientSettings.resolve(CommandLineSettings(), environment: ["HOME": "/nonexistent-home"])) != nil)
    }

    @Test func replacePinNeedsAPinFromTheFlagOrTheFile() throws {
        var flags = CommandLineSettings()
        flags.server = "h:1"
        flags.replacePin = true
        #expect(throws: ClientError.self) {
            try ClientSettings.resolve(flags, environment: ["HOME": "/nonexistent-home"], configPath: nil, file: nil)
        }
        let file = try parse("pin = \"\(pin)\"\n")
        let settings = try ClientSettings.resolve(flags, environment: ["HOME": "/nonexistent-home"], configPath: nil, file: file)
        #expect(settings.tlsOptions(prompt: NonInteractiveTrustPrompt())?.replacesRememberedPin == true)
    }
}
