import NIOCore

/// The server's inbound framing (PROTOCOL.md §3): the bytes a client sent, one frame at a time,
/// under the `FrameRules` the conversation has in force when it asks.
///
/// A plain value that never touches a channel: the connection appends what it reads and asks for
/// the next frame when it can take one, so nothing is decoded ahead of the conversation. Each frame
/// is announced by its type once its first 6 bytes passed checks 0-3, before its body is awaited:
/// a frame the conversation would refuse in its state is refused without buffering its body.
public struct FrameReader: Sendable {
    public enum Next: Sendable, Hashable {
        /// The next frame's header or body is not all here yet.
        case needMoreBytes
        /// The next frame's header passed checks 0-3; asked again, the reader waits for its body.
        case announced(MessageType)
        /// A whole frame; a compressed payload is still compressed.
        case frame(Frame)
    }

    private var buffer: ByteBuffer?
    private var announced = false

    public init() {}

    /// Bytes read and not yet handed out as frames.
    public var bufferedBytes: Int { buffer?.readableBytes ?? 0 }

    /// The whole size (length field included) of the frame announced and awaited, if one is.
    public var announcedFrameSize: Int? {
        guard announced, let length = buffer?.getInteger(at: buffer!.readerIndex, as: UInt32.self) else { return nil }
        return Frame.lengthFieldSize + Int(length)
    }

    public mutating func append(_ bytes: ByteBuffer) {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer!.writeBuffer(&bytes)
        }
    }

    /// The next step of the stream. A thrown error is fatal (§3): the stream is out of step, and
    /// whatever follows is never read (`discardAll`).
    public mutating func next(rules: FrameRules) throws(ProtocolError) -> Next {
        guard var bytes = buffer, bytes.readableBytes > 0 else { return .needMoreBytes }
        if !announced {
            guard let type = try FrameDecoder.header(bytes, rules: rules) else { return .needMoreBytes }
            announced = true
            return .announced(type)
        }
        // Taken out of `buffer` while it is split, so that the frame's slice does not force a copy.
        buffer = nil
        defer { buffer = bytes.readableBytes > 0 ? bytes : nil }
        guard let frame = try FrameDecoder.split(&bytes, rules: rules) else { return .needMoreBytes }
        announced = false
        return .frame(frame)
    }

    /// Drops everything buffered: after a broken rule, or once the conversation has ended.
    public mutating func discardAll() {
        buffer = nil
        announced = false
    }

    /// The error for a stream that ended inside a frame, if it did.
    public var endedInsideAFrame: ProtocolError? {
        bufferedBytes > 0 ? FrameDecoder.endedInsideAFrame(buffer!) : nil
    }
}
