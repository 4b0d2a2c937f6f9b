import ArticleSyncProtocol

/// Decides a connection's role from its HELLO (PROTOCOL.md §10). `AuthenticationRequest` and
/// `AuthenticationDecision` live beside `TokenAuthenticator` (Security/). The connection has already
/// refused a token over plain TCP off loopback (TLS_REQUIRED) before it asks. An implementation may take
/// its time (a wrong token is answered after a short delay): only that connection waits.
public protocol Authenticator: Sendable {
    func authenticate(_ request: AuthenticationRequest) async -> AuthenticationDecision

    /// A value that changes whenever the credentials may have changed (the token file was
    /// rewritten), nil when they never change. The server asks about once a second and, when it
    /// moved, asks `currentRole(forToken:)` for every connection that holds a token.
    func credentialsVersion() async -> UInt64?

    /// The role `token` grants now; nil when it grants none (revoked, removed, or the credentials
    /// cannot be read).
    func currentRole(forToken token: String) async -> Role?
}

extension Authenticator {
    public func credentialsVersion() async -> UInt64? { nil }
    public func currentRole(forToken token: String) async -> Role? { nil }
}
