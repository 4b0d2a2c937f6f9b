import NIOCore

/// The client's inbound decoder: bytes from a server → `ServerMessage`. Every decoding error is
/// fatal for a client (§4.2), so all of them are thrown.
public struct ServerMessageDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ServerMessage

    private var frames: FrameDecoder

    public init(maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength, maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength) {
        self.frames = FrameDecoder(rules: .fromServer(maxFrameLength: maxFrameLength, maxInflatedLength: maxInflatedLength))
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ServerMessage? {
        try decodeMessage(buffer: &buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ServerMessage? {
        if let message = try decodeMessage(buffer: &buffer) { return message }
        if seenEOF && buffer.readableBytes > 0 { throw FrameDecoder.endedInsideAFrame(buffer) }
        return nil
    }

    /// One step of decoding with the error type spelled out; nil means "need more bytes".
    public mutating func decodeMessage(buffer: inout ByteBuffer) throws(ProtocolError) -> ServerMessage? {
        guard let frame = try frames.decodeFrame(buffer: &buffer) else { return nil }
        return try ServerMessage(frame: frame)
    }
}
