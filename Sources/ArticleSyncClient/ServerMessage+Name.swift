import ArticleSyncProtocol

extension ServerMessage {
    /// The spec's name of the message type, for error messages.
    var name: String {
        switch self {
        case .welcome: return "WELCOME"
        case .batch: return "BATCH"
        case .caughtUp: return "CAUGHT_UP"
        case .snapshotRequired: return "SNAPSHOT_REQUIRED"
        case .pushResult: return "PUSH_RESULT"
        case .verifyResult: return "VERIFY_RESULT"
        case .dictionary: return "DICTIONARY"
        case .ping: return "PING"
        case .pong: return "PONG"
        case .error: return "ERROR"
        }
    }
}
