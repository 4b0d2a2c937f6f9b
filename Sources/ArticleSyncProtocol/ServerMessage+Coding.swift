import NIOCore

// The server → client direction. Payloads with their own layout live in Messages+<Name>.swift;
// the one-field payloads are written here:
//
// CAUGHT_UP (0x83), §5.5:           u64 headRevision
// PING (0x10) / PONG (0x11), §5.13: u64 nonce
extension ServerMessage {
    public var messageType: MessageType {
        switch self {
        case .welcome: return .welcome
        case .batch: return .batch
        case .caughtUp: return .caughtUp
        case .snapshotRequired: return .snapshotRequired
        case .pushResult: return .pushResult
        case .verifyResult: return .verifyResult
        case .dictionary: return .dictionary
        case .ping: return .ping
        case .pong: return .pong
        case .error: return .error
        }
    }

    /// Appends this message to `buffer` as one complete frame, `length` prefix included.
    ///
    /// Our server sends uncompressed frames (§3.1: articles are compressed individually), but any
    /// message may be compressed. Free text too long for its field is cut at a character boundary;
    /// ids beyond 255 bytes are a caller's bug and trap.
    public func encode(into buffer: inout ByteBuffer, compress: Bool = false) {
        buffer.writeFrame(type: messageType, compress: compress) { body in
            switch self {
            case .welcome(let welcome): welcome.writePayload(into: &body)
            case .batch(let batch): batch.writePayload(into: &body)
            case .caughtUp(let headRevision): body.writeInteger(headRevision)
            case .snapshotRequired(let snapshot): snapshot.writePayload(into: &body)
            case .pushResult(let result): result.writePayload(into: &body)
            case .verifyResult(let result): result.writePayload(into: &body)
            case .dictionary(let dictionary): dictionary.writePayload(into: &body)
            case .ping(let nonce), .pong(let nonce): body.writeInteger(nonce)
            case .error(let error): error.writePayload(into: &body)
            }
        }
    }

    /// Decodes a frame a server sent. A client-only type is UNEXPECTED_MESSAGE.
    public init(frame: Frame) throws(ProtocolError) {
        var reader = PayloadReader(frame.payload, message: frame.type)
        switch frame.type {
        case .welcome:
            self = .welcome(try Welcome(payload: &reader))
        case .batch:
            self = .batch(try Batch(payload: &reader))
        case .caughtUp:
            let headRevision: UInt64 = try reader.readInteger("headRevision")
            try reader.finish()
            self = .caughtUp(headRevision: headRevision)
        case .snapshotRequired:
            self = .snapshotRequired(try SnapshotRequired(payload: &reader))
        case .pushResult:
            self = .pushResult(try PushResult(payload: &reader))
        case .verifyResult:
            self = .verifyResult(try VerifyResult(payload: &reader))
        case .dictionary:
            self = .dictionary(try StoreDictionary(payload: &reader))
        case .ping:
            self = .ping(nonce: try reader.readNonce())
        case .pong:
            self = .pong(nonce: try reader.readNonce())
        case .error:
            self = .error(try ErrorMessage(payload: &reader))
        case .hello, .pull, .push, .verify, .getDictionary:
            throw ProtocolError(.unexpectedMessage, "\(frame.type.name) is sent by clients, not servers")
        }
    }

    /// Decodes one complete frame (length prefix included) a server sent, as a test or tool would.
    public init(frameBytes: ByteBuffer, maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength) throws(ProtocolError) {
        self = try ServerMessage(frame: try Frame(completeBytes: frameBytes, maxFrameLength: maxFrameLength))
    }
}
