import NIOCore
import Zlib

/// Splits a byte stream into `Frame`s (PROTOCOL.md §3), inflating compressed payloads.
///
/// We do not use NIOExtras' `LengthFieldBasedFrameDecoder`: it only reports an oversized length as
/// its own untyped error, cannot apply a different limit to the first frame, and would buffer a body
/// before we could check the type and flags. The spec fixes the order of checks (length, then type
/// and flags, then compression), and each failure needs its own error code, so the decoder is ours.
///
/// The reader index moves only once a whole frame is buffered: `length` is peeked with
/// `getInteger(at:)`, and the checks on it run before waiting for the body, so a peer announcing
/// 4 GiB is refused after 4 bytes instead of being buffered.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// The largest `length` accepted once the first frame is through.
    public var maxFrameLength: UInt32
    /// The largest `length` accepted for the first frame (the server uses MAX_HELLO_FRAME, so an
    /// unauthenticated peer cannot make it buffer more than that).
    public var maxFirstFrameLength: UInt32
    /// The largest `inflatedLength` of a compressed frame.
    public var maxInflatedLength: UInt32

    private var sawFirstFrame = false

    public init(
        maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength,
        maxFirstFrameLength: UInt32? = nil,
        maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength
    ) {
        self.maxFrameLength = maxFrameLength
        self.maxFirstFrameLength = maxFirstFrameLength ?? maxFrameLength
        self.maxInflatedLength = maxInflatedLength
    }

    /// The limit that applies to the next frame.
    public var currentFrameLimit: UInt32 { sawFirstFrame ? maxFrameLength : maxFirstFrameLength }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        try decodeFrame(buffer: &buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        if let frame = try decodeFrame(buffer: &buffer) { return frame }
        if seenEOF && buffer.readableBytes > 0 {
            throw ProtocolError.malformed(
                "the connection ended inside a frame (\(buffer.readableBytes) bytes of an incomplete frame)")
        }
        return nil
    }

    /// `decode(buffer:)` with its error type spelled out.
    public mutating func decodeFrame(buffer: inout ByteBuffer) throws(ProtocolError) -> Frame? {
        let start = buffer.readerIndex
        // Rule 1: the length, checked before anything else is awaited.
        guard let length = buffer.getInteger(at: start, as: UInt32.self) else { return nil }
        guard length >= UInt32(Frame.headerSize) else {
            throw .malformed("frame length \(length) is below the minimum of \(Frame.headerSize)")
        }
        let limit = currentFrameLimit
        guard length <= limit else {
            throw ProtocolError(.frameTooLarge, "frame of \(length) bytes exceeds the limit of \(limit) bytes")
        }

        // Rule 2: type and flags, as soon as they are there (still before the body).
        guard let typeByte = buffer.getInteger(at: start + 4, as: UInt8.self),
            let flagsByte = buffer.getInteger(at: start + 5, as: UInt8.self)
        else { return nil }
        let flags = FrameFlags(rawValue: flagsByte)
        guard flags.isDisjoint(with: .reserved) else {
            throw .malformed("frame flags 0x\(hexString([flagsByte])) set reserved bits")
        }
        guard let type = MessageType(rawValue: typeByte) else {
            throw ProtocolError(.unknownMessageType, "message type 0x\(hexString([typeByte])) is not defined in version 1")
        }

        let frameSize = Frame.lengthFieldSize + Int(length)
        guard buffer.readableBytes >= frameSize else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.lengthFieldSize + Frame.headerSize)
        var payload = buffer.readSlice(length: Int(length) - Frame.headerSize)!
        sawFirstFrame = true

        // Rule 3: inflate.
        if flags.contains(.compressed) {
            payload = try Self.inflate(payload, of: type, maxInflatedLength: maxInflatedLength)
        }
        return Frame(type: type, flags: flags, payload: payload)
    }

    /// The largest output deflate can encode per input byte: a 258-byte match costs at least two
    /// bits (one-bit literal/length and distance codes), so 1032:1.
    static let maxDeflateRatio = 1032

    // Compressed payload (PROTOCOL.md §3.1):
    //   u32      inflatedLength   1 ≤ n ≤ MAX_INFLATED
    //   bytes    zlib             RFC 1950 stream, FDICT = 0, inflating to exactly n bytes, ending the frame
    static func inflate(_ payload: ByteBuffer, of type: MessageType, maxInflatedLength: UInt32) throws(ProtocolError) -> ByteBuffer {
        var payload = payload
        guard let inflatedLength = payload.readInteger(as: UInt32.self) else {
            throw .malformed("compressed \(type.name) frame is too short for its inflatedLength (\(payload.readableBytes) bytes)")
        }
        guard inflatedLength > 0 else {
            throw .malformed("compressed \(type.name) frame has an inflatedLength of 0")
        }
        guard inflatedLength <= maxInflatedLength else {
            throw ProtocolError(
                .inflatedTooLarge,
                "compressed \(type.name) frame inflates to \(inflatedLength) bytes, above the limit of \(maxInflatedLength) bytes")
        }
        let zlibBytes = payload.readableBytesView
        if zlibBytes.count >= 2, zlibBytes[zlibBytes.startIndex + 1] & 0x20 != 0 {
            throw ProtocolError(.badCompression, "compressed \(type.name) frame uses a preset dictionary (FDICT), which frames may not")
        }
        // A stream this short cannot reach inflatedLength: refuse it before reserving the output, so a
        // tiny frame that claims 64 MiB costs nothing.
        guard Int(inflatedLength) <= zlibBytes.count * maxDeflateRatio + 64 else {
            throw ProtocolError(
                .badCompression,
                "compressed \(type.name) frame of \(zlibBytes.count) zlib bytes cannot inflate to the \(inflatedLength) bytes it claims")
        }
        let result = payload.withUnsafeReadableBytes { bytes -> Result<[UInt8], Zlib.Error> in
            Result { () throws(Zlib.Error) in
                try Zlib.inflate(bytes, exactLength: Int(inflatedLength), maxLength: Int(inflatedLength))
            }
        }
        switch result {
        case .success(let inflated):
            return ByteBuffer(bytes: inflated)
        case .failure(let error):
            throw ProtocolError(.badCompression, "compressed \(type.name) frame: \(error)")
        }
    }
}
