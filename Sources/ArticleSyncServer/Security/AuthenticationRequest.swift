import ArticleSyncProtocol
import NIOCore

/// What the server knows when it decides whether a HELLO may proceed.
public struct AuthenticationRequest: Sendable {
    /// HELLO's token; empty = none.
    public var token: String
    /// The peer; nil when the channel could not tell (treated as not loopback).
    public var peer: SocketAddress?
    /// True when the connection runs inside TLS.
    public var isEncrypted: Bool

    public init(token: String, peer: SocketAddress?, isEncrypted: Bool) {
        self.token = token
        self.peer = peer
        self.isEncrypted = isEncrypted
    }

    /// True when the peer is on loopback (127.0.0.0/8, ::1): see `LoopbackAddress`.
    public var isLoopback: Bool { peer.map(LoopbackAddress.contains) ?? false }
}

/// The answer to a HELLO's credentials: a role for the connection, or an ERROR to send before closing.
public enum AuthenticationDecision: Sendable, Hashable {
    /// `tokenName` names the token's line in the token file; nil for anonymous access.
    case granted(Role, tokenName: String?)
    /// A fatal ERROR for the HELLO: TLS_REQUIRED, AUTH_REQUIRED, AUTH_FAILED, RATE_LIMITED or
    /// INTERNAL_ERROR (token file unreadable).
    case refused(ErrorMessage)
}
