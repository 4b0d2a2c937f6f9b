import ArticleSyncProtocol

/// Why a TLS connection attempt failed, as seen from inside the handshake. Recorded by the handlers
/// of `TLSAttempt`, so that the cause survives however the connection code wraps the error.
public enum TLSFailure: Sendable, Hashable {
    /// The server's certificate is not the pinned one.
    case pinMismatch(presented: CertificateFingerprint)
    /// The pinned certificate is outside its validity dates (seconds since 1970).
    case expired(notValidAfter: Int)
    case notYetValid(notValidBefore: Int)
    /// The certificate is valid but names another host.
    case hostnameMismatch(expected: String)
    /// The chain does not lead to a trusted CA, or it expired: the probe (`CertificateProbe`) tells which.
    case untrusted(detail: String)
    /// The server does not speak TLS, or the handshake broke for another reason.
    case handshake(detail: String)
    /// The server refused the connection before TLS began, with a plain-text ERROR (§10).
    case refusedInPlain(ErrorMessage)
}
