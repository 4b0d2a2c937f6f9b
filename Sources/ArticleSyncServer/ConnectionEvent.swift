import ArticleSyncProtocol

/// What happens to a conversation besides the frames its peer sends: what the connection's own work
/// reports, the progress of writes, timers, the server. `ConnectionHandler` hands each to
/// `ConnectionStateMachine` on the channel's event loop, in order with the frames.
public enum ConnectionEvent: Sendable, Hashable {
    /// A compressed frame the machine accepted was inflated and decoded (or failed to be), with
    /// `reserved` bytes of the server's inflation budget taken for it.
    case frameDecoded(Result<ClientMessage, ProtocolError>, reserved: Int)
    /// The authenticator decided on HELLO's credentials.
    case authenticated(AuthenticationDecision)
    /// The response to the current request, or WELCOME, was written to the socket in full; or the
    /// request failed with `error` before its response was complete.
    case requestFinished(error: ErrorMessage?)
    /// The channel had no write pending and now has one.
    case writesPending
    /// A write reached the socket; `remaining` are still pending.
    case writeCompleted(remaining: Int)
    case deadlinePassed(ConnectionStateMachine.DeadlineID)
    /// The kernel's answer to `checkPeerBacklog`.
    case peerBacklogChecked(stillReceiving: Bool, ConnectionStateMachine.DeadlineID)
    /// The token this connection was granted with is revoked, removed or lost its role.
    case credentialsRevoked
    /// The server is stopping.
    case shutdownRequested
    /// The long poll the connection parked under `id` ended (RevisionNotifier.park).
    case longPollEnded(RevisionNotifier.Outcome, id: Int)
}

/// Outbound user event understood by `ConnectionHandler`: hands `event` to the conversation on its
/// event loop, in order with the frames.
public struct ConnectionCommand: Sendable, Hashable {
    public var event: ConnectionEvent

    public static func deliver(_ event: ConnectionEvent) -> ConnectionCommand {
        ConnectionCommand(event: event)
    }
}
