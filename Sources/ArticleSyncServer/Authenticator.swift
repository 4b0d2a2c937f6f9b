import ArticleSyncProtocol

/// Decides a connection's role from its HELLO (PROTOCOL.md §10). `AuthenticationRequest` and
/// `AuthenticationDecision` live beside `TokenAuthenticator` (Security/). The connection has already
/// refused a token over plain TCP off loopback (TLS_REQUIRED) before it asks. An implementation may take
/// its time (a wrong token is answered after a short delay): only that connection waits.
public protocol Authenticator: Sendable {
    func authenticate(_ request: AuthenticationRequest) async -> AuthenticationDecision
}
