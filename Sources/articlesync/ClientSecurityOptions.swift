import ArgumentParser
import ArticleSyncClient

/// TLS flags every command that talks to a server takes (PROTOCOL.md §10); `ClientSettings` merges
/// them with the config file and known_servers. The token itself comes from --token-file,
/// ARTICLESYNC_TOKEN or the config file (GlobalOptions), never from a flag.
struct ClientSecurityOptions: ParsableArguments {
    @Flag(name: .customLong("tls"), help: "Speak TLS to the server (needed when it runs with --tls-cert). Automatic when known_servers remembers the server's certificate, or the config file says `tls = true`.")
    var tls = false

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp("Trust only the CAs in this PEM file instead of the system's (implies --tls).", valueName: "path"))
    var caFile: String?

    @Option(
        name: .customLong("pin"),
        help: ArgumentHelp(
            "Trust the server's certificate by its SHA-256 fingerprint, as `articlesyncd cert generate` prints it (implies --tls; remembered in known_servers; a different remembered one needs --replace-pin).",
            valueName: "SHA256:…"))
    var pin: String?

    @Flag(
        name: .customLong("replace-pin"),
        help: ArgumentHelp(
            "With --pin: replace the certificate remembered for this server (after it was changed on purpose). Without it, a --pin that differs from the remembered one is refused. Check the new fingerprint on the server itself, never from an error message."))
    var replacePin = false

    func validate() throws {
        if let pin, CertificateFingerprint(parsing: pin) == nil {
            throw ValidationError("--pin must be a SHA-256 fingerprint: SHA256: and 32 hex pairs, e.g. the line `articlesyncd cert generate` printed")
        }
    }
}
