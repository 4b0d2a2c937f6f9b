import ArticleSyncProtocol

/// What a connection's task reads from its channel: complete messages, and the events the channel
/// handlers turn into messages so the state machine sees them in order (PROTOCOL.md §4.3: timeouts are
/// events like any other).
public enum ConnectionEvent: Sendable, Hashable {
    case message(ClientMessage)
    /// The codec could not read the peer's bytes.
    case decodingFailed(ErrorMessage)
    case deadlinePassed(ConnectionStateMachine.Deadline)
    /// The server is stopping.
    case shutdownRequested
}

/// Outbound user events understood by `ConnectionEventHandler`.
public enum ConnectionCommand: Sendable, Hashable {
    /// The connection is READY after having read `framesConsumed` messages: start the idle deadline,
    /// unless a later frame already arrived.
    case armIdleDeadline(framesConsumed: Int)
    /// Deliver `.shutdownRequested` to the connection's task.
    case requestShutdown
}
