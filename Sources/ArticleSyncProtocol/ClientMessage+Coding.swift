import NIOCore

// The client → server direction. Payloads with their own layout live in Messages+<Name>.swift;
// the one-field payloads are written here:
//
// VERIFY (0x04), §5.9:          u64 atRevision    0xFFFFFFFFFFFFFFFF = the head
// GET_DICTIONARY (0x05), §5.11: u32 dictionaryId  Adler-32 of the dictionary
// PING (0x10) / PONG (0x11), §5.13: u64 nonce     PONG echoes the PING's nonce
extension ClientMessage {
    public var messageType: MessageType {
        switch self {
        case .hello: return .hello
        case .pull: return .pull
        case .push: return .push
        case .verify: return .verify
        case .getDictionary: return .getDictionary
        case .ping: return .ping
        case .pong: return .pong
        case .error: return .error
        }
    }

    /// Appends this message to `buffer` as one complete frame, `length` prefix included.
    ///
    /// With `compress`, the payload travels zlib-compressed (§3.1). Free text that is too long for its
    /// field (agent, ERROR message) is cut at a character boundary; ids and tokens beyond the limits
    /// of §9 are a caller's bug and trap.
    public func encode(into buffer: inout ByteBuffer, compress: Bool = false) {
        buffer.writeFrame(type: messageType, compress: compress) { body in
            switch self {
            case .hello(let hello): hello.writePayload(into: &body)
            case .pull(let pull): pull.writePayload(into: &body)
            case .push(let push): push.writePayload(into: &body)
            case .verify(let atRevision): body.writeInteger(atRevision)
            case .getDictionary(let id): body.writeInteger(id)
            case .ping(let nonce), .pong(let nonce): body.writeInteger(nonce)
            case .error(let error): error.writePayload(into: &body)
            }
        }
    }

    /// Decodes a frame a client sent. A server-only type is UNEXPECTED_MESSAGE.
    public init(frame: Frame) throws(ProtocolError) {
        var reader = PayloadReader(frame.payload, message: frame.type)
        switch frame.type {
        case .hello:
            self = .hello(try Hello(payload: &reader))
        case .pull:
            self = .pull(try Pull(payload: &reader))
        case .push:
            self = .push(try Push(payload: &reader))
        case .verify:
            let atRevision: UInt64 = try reader.readInteger("atRevision")
            try reader.finish()
            self = .verify(atRevision: atRevision)
        case .getDictionary:
            let id: UInt32 = try reader.readInteger("dictionaryId")
            try reader.finish()
            self = .getDictionary(id: id)
        case .ping:
            self = .ping(nonce: try reader.readNonce())
        case .pong:
            self = .pong(nonce: try reader.readNonce())
        case .error:
            self = .error(try ErrorMessage(payload: &reader))
        case .welcome, .batch, .caughtUp, .snapshotRequired, .pushResult, .verifyResult, .dictionary:
            throw ProtocolError(.unexpectedMessage, "\(frame.type.name) is sent by servers, not clients")
        }
    }

    /// Decodes one complete frame (length prefix included) a client sent, as a test or tool would.
    public init(frameBytes: ByteBuffer, maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength) throws(ProtocolError) {
        self = try ClientMessage(frame: try Frame(completeBytes: frameBytes, maxFrameLength: maxFrameLength))
    }
}

extension PayloadReader {
    mutating func readNonce() throws(ProtocolError) -> UInt64 {
        let nonce: UInt64 = try readInteger("nonce")
        try finish()
        return nonce
    }
}

extension Frame {
    /// Decodes exactly one complete frame: missing bytes or bytes after it are MALFORMED_FRAME.
    public init(completeBytes bytes: ByteBuffer, maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength) throws(ProtocolError) {
        var bytes = bytes
        var decoder = FrameDecoder(maxFrameLength: maxFrameLength)
        guard let frame = try decoder.decodeFrame(buffer: &bytes) else {
            throw .malformed("the frame is incomplete: \(bytes.readableBytes) bytes")
        }
        guard bytes.readableBytes == 0 else {
            throw .malformed("\(bytes.readableBytes) bytes follow the frame")
        }
        self = frame
    }
}
