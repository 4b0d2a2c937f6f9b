import ArticleSyncProtocol

extension ServerMessage {
    /// The spec's name of the message type, for error messages.
    var name: String { messageType.name }
}
