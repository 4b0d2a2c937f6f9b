import ArgumentParser
import ArticleSyncClient

/// TLS flags every command that talks to a server takes (PROTOCOL.md §10). The token itself comes
/// from --token-file or ARTICLESYNC_TOKEN (GlobalOptions), never from a flag.
struct ClientSecurityOptions: ParsableArguments {
    @Flag(name: .customLong("tls"), help: "Speak TLS to the server (needed when it runs with --tls-cert).")
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
        if replacePin && pin == nil {
            throw ValidationError("--replace-pin needs --pin with the server's new fingerprint")
        }
    }

    /// The TLS settings, or nil for plain TCP. Pins are remembered in the per-user known_servers file;
    /// a new certificate is offered for trust at the terminal (never when not a terminal).
    func tlsOptions(environment: [String: String]) -> ClientTLSOptions? {
        guard tls || caFile != nil || pin != nil else { return nil }
        return ClientTLSOptions(
            caFile: caFile,
            pin: pin.flatMap(CertificateFingerprint.init(parsing:)),
            replacesRememberedPin: replacePin,
            knownServersPath: KnownServers.defaultPath(environment: environment),
            prompt: TerminalTrustPrompt()
        )
    }
}
