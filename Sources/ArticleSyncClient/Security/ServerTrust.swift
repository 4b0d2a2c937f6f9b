/// How the client decides that a TLS server is the one it means to reach.
public enum ServerTrust: Sendable, Hashable {
    /// A chain to a trusted CA and a name matching the address: the system trust store when
    /// `caFile` is nil, else only the CAs in that PEM file.
    case certificateAuthorities(caFile: String?)
    /// The leaf certificate's SHA-256 must be this: for self-signed certificates. Names and CAs do
    /// not matter; the validity dates still do.
    case pinned(CertificateFingerprint, source: PinSource)

    public enum PinSource: Sendable, Hashable {
        case commandLine
        case knownServers(path: String, line: Int)
        /// Accepted a moment ago at the trust-on-first-use prompt.
        case firstUse
    }
}
