import NIOCore

/// What the server's decoder hands on: a frame as it travelled, or the reason the bytes cannot be read.
public enum InboundFrame: Sendable, Hashable {
    /// A whole frame; a compressed payload is still compressed (the conversation decides whether and
    /// when it is inflated).
    case frame(Frame)
    /// The stream broke a frame rule (§3): always fatal, and nothing after it is read.
    case rejected(ProtocolError)
}

/// The server's inbound decoder: bytes from a client → `InboundFrame`s, under the `FrameRules` the
/// conversation puts in `rules`.
///
/// It decides nothing about the conversation and never writes to the channel: a rule broken becomes
/// a `.rejected` event, after which the rest of the stream is out of step and is dropped unread.
/// Errors are not thrown because a thrown error ends an NIOAsyncChannel's inbound stream before the
/// connection could answer it.
public struct ClientFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    public let rules: FrameRulesBox
    private var broken = false

    public init(rules: FrameRulesBox) {
        self.rules = rules
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> InboundFrame? {
        guard !broken else {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
        do {
            return try FrameDecoder.split(&buffer, rules: rules.current).map(InboundFrame.frame)
        } catch {
            return reject(error, &buffer)
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> InboundFrame? {
        if let frame = try decode(buffer: &buffer) { return frame }
        if seenEOF, buffer.readableBytes > 0, !broken {
            return reject(FrameDecoder.endedInsideAFrame(buffer), &buffer)
        }
        return nil
    }

    private mutating func reject(_ error: ProtocolError, _ buffer: inout ByteBuffer) -> InboundFrame {
        broken = true
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .rejected(error)
    }
}
