import ArticleSyncProtocol

/// Everything that can happen to a conversation, in the order it happened: what the peer sent, what
/// the connection's own work reports, timers, the server. The connection's task reads them from its
/// channel one at a time and feeds them to `ConnectionStateMachine`.
public enum ConnectionEvent: Sendable, Hashable {
    /// A whole frame arrived (its payload as it travelled).
    case frame(Frame)
    /// The bytes broke a frame rule (§3).
    case frameRejected(ProtocolError)
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

/// Outbound user event understood by `ConnectionEventHandler`: hands `event` to the connection's
/// task in order with the frames.
public struct ConnectionCommand: Sendable, Hashable {
    public var event: ConnectionEvent

    public static func deliver(_ event: ConnectionEvent) -> ConnectionCommand {
        ConnectionCommand(event: event)
    }
}
