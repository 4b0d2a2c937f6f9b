import ArticleSyncProtocol
import NIOCore

/// An ERROR frame written before any codec is in the pipeline: the answer of the transport sniffer
/// (PROTOCOL.md §10) to a peer that speaks the wrong transport.
enum PlaintextErrorFrame {
    // TODO(codec): replace with the protocol module's message encoder once it exists; until then the
    // frame is written by hand exactly as PROTOCOL.md §3 and §5.14 lay it out:
    //   u32 length (= 2 + payload), u8 type 0x7F, u8 flags 0, u16 code, str16 message.
    static func encode(_ error: ErrorMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        var message = Array(error.message.utf8)
        if message.count > ProtocolLimits.maxErrorMessageLength {
            message = Array(message.prefix(ProtocolLimits.maxErrorMessageLength))
            // Never cut a UTF-8 sequence in half: drop continuation bytes and their lead byte.
            while let last = message.last, last & 0xC0 == 0x80 { message.removeLast() }
            if let last = message.last, last & 0x80 != 0 { message.removeLast() }
        }
        let payloadLength = 2 + 2 + message.count
        var buffer = allocator.buffer(capacity: 4 + 2 + payloadLength)
        buffer.writeInteger(UInt32(2 + payloadLength))
        buffer.writeInteger(MessageType.error.rawValue)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(error.rawCode)
        buffer.writeInteger(UInt16(message.count))
        buffer.writeBytes(message)
        return buffer
    }
}
