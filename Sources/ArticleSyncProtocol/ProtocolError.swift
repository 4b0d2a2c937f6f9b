/// A violation of PROTOCOL.md found while decoding, with the error code (§8) the receiver answers with.
///
/// Every decoding failure of this module throws a `ProtocolError`; `message` is a sentence for people
/// ("frame of 4294967295 bytes exceeds the limit of 16777216 bytes") that fits an ERROR frame.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var isFatal: Bool { code.isFatal }

    public var description: String { "\(code.name): \(message)" }

    /// The ERROR payload that answers this error: the message is cut to MAX_ERROR_MESSAGE bytes.
    public var errorMessage: ErrorMessage {
        ErrorMessage(code: code, message: message)
    }

    static func malformed(_ message: String) -> ProtocolError {
        ProtocolError(.malformedFrame, message)
    }
}

extension ErrorCode: CustomStringConvertible {
    /// The name PROTOCOL.md §8 gives the code, e.g. "MALFORMED_FRAME".
    public var name: String {
        switch self {
        case .malformedFrame: return "MALFORMED_FRAME"
        case .frameTooLarge: return "FRAME_TOO_LARGE"
        case .inflatedTooLarge: return "INFLATED_TOO_LARGE"
        case .badCompression: return "BAD_COMPRESSION"
        case .unknownMessageType: return "UNKNOWN_MESSAGE_TYPE"
        case .unexpectedMessage: return "UNEXPECTED_MESSAGE"
        case .badMagic: return "BAD_MAGIC"
        case .noCommonVersion: return "NO_COMMON_VERSION"
        case .authRequired: return "AUTH_REQUIRED"
        case .authFailed: return "AUTH_FAILED"
        case .forbidden: return "FORBIDDEN"
        case .handshakeTimeout: return "HANDSHAKE_TIMEOUT"
        case .idleTimeout: return "IDLE_TIMEOUT"
        case .tooManyConnections: return "TOO_MANY_CONNECTIONS"
        case .shuttingDown: return "SHUTTING_DOWN"
        case .unknownDictionary: return "UNKNOWN_DICTIONARY"
        case .tlsRequired: return "TLS_REQUIRED"
        case .rateLimited: return "RATE_LIMITED"
        case .requestTooLarge: return "REQUEST_TOO_LARGE"
        case .internalError: return "INTERNAL_ERROR"
        }
    }

    public var description: String { name }
}

extension MessageType: CustomStringConvertible {
    /// The name PROTOCOL.md §5 gives the type, e.g. "SNAPSHOT_REQUIRED".
    public var name: String {
        switch self {
        case .hello: return "HELLO"
        case .pull: return "PULL"
        case .push: return "PUSH"
        case .verify: return "VERIFY"
        case .getDictionary: return "GET_DICTIONARY"
        case .ping: return "PING"
        case .pong: return "PONG"
        case .error: return "ERROR"
        case .welcome: return "WELCOME"
        case .batch: return "BATCH"
        case .caughtUp: return "CAUGHT_UP"
        case .snapshotRequired: return "SNAPSHOT_REQUIRED"
        case .pushResult: return "PUSH_RESULT"
        case .verifyResult: return "VERIFY_RESULT"
        case .dictionary: return "DICTIONARY"
        }
    }

    public var description: String { name }

    /// Whether a client may send this type (PROTOCOL.md §5's direction column).
    public var isSentByClient: Bool {
        switch self {
        case .hello, .pull, .push, .verify, .getDictionary, .ping, .pong, .error: return true
        case .welcome, .batch, .caughtUp, .snapshotRequired, .pushResult, .verifyResult, .dictionary: return false
        }
    }

    /// Whether a server may send this type (PROTOCOL.md §5's direction column).
    public var isSentByServer: Bool {
        switch self {
        case .ping, .pong, .error, .welcome, .batch, .caughtUp, .snapshotRequired, .pushResult, .verifyResult,
            .dictionary:
            return true
        case .hello, .pull, .push, .verify, .getDictionary: return false
        }
    }
}
