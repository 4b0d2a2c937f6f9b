import ArticleSyncProtocol

/// The behaviour of a server without tokens (PROTOCOL.md §10): a peer on loopback gets
/// `loopbackRole` (READ normally; WRITE only for tests and development, `--anonymous-write`); any other
/// peer gets READ when `servesOtherHosts` is set (the operator's explicit choice), else AUTH_REQUIRED.
public struct AnonymousAuthenticator: Authenticator {
    public var loopbackRole: Role
    public var servesOtherHosts: Bool

    public init(loopbackRole: Role = .read, servesOtherHosts: Bool = false) {
        self.loopbackRole = loopbackRole
        self.servesOtherHosts = servesOtherHosts
    }

    public func authenticate(_ request: AuthenticationRequest) async -> AuthenticationDecision {
        guard request.token.isEmpty else {
            return .refused(ErrorMessage(code: .authFailed, message: "this server has no access tokens; connect without a token"))
        }
        if request.peer.map(LoopbackAddress.contains) ?? false {
            return .granted(loopbackRole, tokenName: nil)
        }
        guard servesOtherHosts else {
            return .refused(ErrorMessage(code: .authRequired, message: "this server serves clients without a token only on loopback"))
        }
        return .granted(.read, tokenName: nil)
    }
}
