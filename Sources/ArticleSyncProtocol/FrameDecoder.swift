import ArticleModel
import NIOCore
import Zlib

/// Splits a byte stream into `Frame`s (PROTOCOL.md §3) under the `FrameRules` in force.
///
/// We do not use NIOExtras' `LengthFieldBasedFrameDecoder`: it only reports an oversized length as
/// its own untyped error and would buffer a body before we could check the type and flags. The spec
/// fixes the order of checks (length, flags, type, then inflation), and each failure needs its own
/// error code, so the splitter is ours.
///
/// The reader index moves only once a whole frame is buffered: `length` is peeked with
/// `getInteger(at:)`, and the checks on it run before waiting for the body, so a peer announcing
/// 4 GiB is refused after 4 bytes instead of being buffered. The decoder holds no conversation
/// state: whoever owns the conversation changes `rules`.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    public var rules: FrameRules

    public init(rules: FrameRules = .fromServer()) {
        self.rules = rules
    }

    public init(maxFrameLength: UInt32, maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength) {
        self.rules = FrameRules(maxFrameLength: maxFrameLength, maxInflatedLength: maxInflatedLength, acceptsCompressed: true)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        try decodeFrame(buffer: &buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        if let frame = try decodeFrame(buffer: &buffer) { return frame }
        if seenEOF && buffer.readableBytes > 0 { throw Self.endedInsideAFrame(buffer) }
        return nil
    }

    /// One frame, inflated when it travelled compressed; nil means "need more bytes".
    public mutating func decodeFrame(buffer: inout ByteBuffer) throws(ProtocolError) -> Frame? {
        guard let frame = try Self.split(&buffer, rules: rules) else { return nil }
        return try frame.inflated(maxInflatedLength: rules.maxInflatedLength)
    }

    /// Rules 0-3 of §3, which need only the first 6 bytes: the type of the frame that starts the
    /// buffer, or nil when its header is not all there yet. Moves nothing.
    public static func header(_ buffer: ByteBuffer, rules: FrameRules) throws(ProtocolError) -> MessageType? {
        let start = buffer.readerIndex
        if rules.refusesTLSRecord, buffer.getInteger(at: start, as: UInt8.self) == 0x16 {
            throw .malformed("this server does not speak TLS (the connection opened with a TLS handshake record)")
        }
        // Rule 1: the length, checked before anything else is awaited.
        guard let length = buffer.getInteger(at: start, as: UInt32.self) else { return nil }
        guard length >= UInt32(Frame.headerSize) else {
            throw .malformed("frame length \(length) is below the minimum of \(Frame.headerSize)")
        }
        guard length <= rules.maxFrameLength else {
            throw ProtocolError(.frameTooLarge, "frame of \(length) bytes exceeds the limit of \(rules.maxFrameLength) bytes")
        }

        // Rules 2 and 3: flags, then type, as soon as they are there (still before the body).
        guard let typeByte = buffer.getInteger(at: start + 4, as: UInt8.self),
            let flagsByte = buffer.getInteger(at: start + 5, as: UInt8.self)
        else { return nil }
        let flags = FrameFlags(rawValue: flagsByte)
        guard flags.isDisjoint(with: .reserved) else {
            throw .malformed("frame flags 0x\(hexString([flagsByte])) set reserved bits")
        }
        if flags.contains(.compressed), !rules.acceptsCompressed {
            throw .malformed("a frame before WELCOME must not be compressed")
        }
        guard let type = MessageType(rawValue: typeByte) else {
            throw ProtocolError(.unknownMessageType, "message type 0x\(hexString([typeByte])) is not defined in version 1")
        }
        return type
    }

    /// Rules 1-3 of §3 and the body: one frame as it travelled (a compressed payload stays
    /// compressed), or nil when its bytes are not all there yet.
    public static func split(_ buffer: inout ByteBuffer, rules: FrameRules) throws(ProtocolError) -> Frame? {
        guard let type = try header(buffer, rules: rules) else { return nil }
        let start = buffer.readerIndex
        let length = buffer.getInteger(at: start, as: UInt32.self)!
        let flags = FrameFlags(rawValue: buffer.getInteger(at: start + 5, as: UInt8.self)!)
        let frameSize = Frame.lengthFieldSize + Int(length)
        guard buffer.readableBytes >= frameSize else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.lengthFieldSize + Frame.headerSize)
        let payload = buffer.readSlice(length: Int(length) - Frame.headerSize)!
        return Frame(type: type, flags: flags, payload: payload)
    }

    static func endedInsideAFrame(_ buffer: ByteBuffer) -> ProtocolError {
        .malformed("the connection ended inside a frame (\(buffer.readableBytes) bytes of an incomplete frame)")
    }
}

extension Frame {
    /// The largest output deflate can encode per input byte: a 258-byte match costs at least two
    /// bits (one-bit literal/length and distance codes), so 1032:1.
    static let maxDeflateRatio = 1032

    /// The frame with its payload inflated (§3.1); an uncompressed frame as it is. `flags` keeps
    /// `.compressed`, so a receiver can still tell how the frame travelled.
    ///
    /// Compressed payload:
    ///   u32      inflatedLength   1 ≤ n ≤ the receiver's limit
    ///   bytes    zlib             RFC 1950 stream, FDICT = 0, inflating to exactly n bytes, ending the frame
    public func inflated(maxInflatedLength: UInt32) throws(ProtocolError) -> Frame {
        guard wasCompressed else { return self }
        var payload = self.payload
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
        guard zlibBytes.count >= 2 else {
            throw ProtocolError(.badCompression, "compressed \(type.name) frame holds \(zlibBytes.count) zlib bytes, too few for a zlib header")
        }
        // A zlib header is a multiple of 31 read as a big-endian u16, with method 8 (deflate).
        let cmf = zlibBytes[zlibBytes.startIndex], flg = zlibBytes[zlibBytes.startIndex + 1]
        guard cmf & 0x0F == 8, (UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0 else {
            throw ProtocolError(.badCompression, "compressed \(type.name) frame does not start with a zlib header")
        }
        if flg & 0x20 != 0 {
            throw ProtocolError(.badCompression, "compressed \(type.name) frame uses a preset dictionary (FDICT), which frames may not")
        }
        // A stream this short cannot reach inflatedLength: refuse it before reserving the output, so a
        // tiny frame that claims 64 MiB costs nothing.
        guard Int(inflatedLength) <= zlibBytes.count * Self.maxDeflateRatio + 64 else {
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
            return Frame(type: type, flags: flags, payload: ByteBuffer(bytes: inflated))
        case .failure(let error):
            throw ProtocolError(.badCompression, "compressed \(type.name) frame: \(error)")
        }
    }
}
