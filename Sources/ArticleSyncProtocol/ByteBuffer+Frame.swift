import NIOCore
import Zlib

extension ByteBuffer {
    /// The zlib level for compressed frames: zlib's default, a good trade for PUSH sources, which are
    /// plain text the client compresses on every push.
    static let frameCompressionLevel: Int32 = 6

    /// Writes one complete frame (PROTOCOL.md §3): a placeholder `length`, `type`, `flags`, the body
    /// written by `writeBody`, then the real `length` patched in (as postgres-nio does).
    ///
    /// With `compress`, the body is written to a scratch buffer and travels as §3.1's
    /// `inflatedLength` + zlib stream. An empty body is never compressed (`inflatedLength` ≥ 1).
    mutating func writeFrame(type: MessageType, compress: Bool, _ writeBody: (inout ByteBuffer) -> Void) {
        let start = writerIndex
        writeInteger(UInt32(0))  // length, patched below
        writeInteger(type.rawValue)
        if compress {
            var body = ByteBufferAllocator().buffer(capacity: 256)
            writeBody(&body)
            if body.readableBytes > 0 {
                writeInteger(FrameFlags.compressed.rawValue)
                writeCompressedPayload(body)
            } else {
                writeInteger(UInt8(0))
            }
        } else {
            writeInteger(UInt8(0))
            writeBody(&self)
        }
        let length = writerIndex - start - Frame.lengthFieldSize
        precondition(length <= Int(UInt32.max), "a frame of \(length) bytes does not fit its length field")
        setInteger(UInt32(length), at: start)
    }

    private mutating func writeCompressedPayload(_ body: ByteBuffer) {
        precondition(body.readableBytes <= Int(UInt32.max), "a payload of \(body.readableBytes) bytes cannot be compressed into one frame")
        let compressed = body.withUnsafeReadableBytes { bytes -> Result<[UInt8], Zlib.Error> in
            Result { () throws(Zlib.Error) in try Zlib.deflate(bytes, level: Self.frameCompressionLevel) }
        }
        switch compressed {
        case .success(let zlib):
            writeInteger(UInt32(body.readableBytes))  // inflatedLength
            writeBytes(zlib)
        case .failure(let error):
            // deflate without a dictionary fails only when zlib cannot allocate its state.
            fatalError("zlib could not compress a frame: \(error)")
        }
    }
}
