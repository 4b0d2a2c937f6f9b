/// What the user said about TLS (`--tls`, `--ca-file`, `--pin`) and where pins are remembered.
public struct ClientTLSOptions: Sendable {
    /// PEM file of the CAs to trust instead of the system's.
    public var caFile: String?
    /// The server's certificate must have this SHA-256 (self-signed servers).
    public var pin: CertificateFingerprint?
    /// `pin` may replace another certificate remembered for the server. Without it such a pin is
    /// refused: after a real attack, a fingerprint copied from the attacker must not quietly win.
    public var replacesRememberedPin: Bool
    /// The trust-on-first-use store (`KnownServers`); nil: nothing is remembered or looked up.
    public var knownServersPath: String?
    public var prompt: any TrustPrompt

    public init(
        caFile: String? = nil,
        pin: CertificateFingerprint? = nil,
        replacesRememberedPin: Bool = false,
        knownServersPath: String? = nil,
        prompt: any TrustPrompt = NonInteractiveTrustPrompt()
    ) {
        self.caFile = caFile
        self.pin = pin
        self.replacesRememberedPin = replacesRememberedPin
        self.knownServersPath = knownServersPath
        self.prompt = prompt
    }
}
