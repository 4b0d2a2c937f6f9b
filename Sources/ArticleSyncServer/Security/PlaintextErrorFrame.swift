import ArticleSyncProtocol
import NIOCore

/// An ERROR frame written before any codec is in the pipeline: the answer of the transport sniffer
/// (PROTOCOL.md §10) to a peer that speaks the wrong transport.
enum PlaintextErrorFrame {
    static func encode(_ error: ErrorMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64 + error.message.utf8.count)
        ServerMessage.error(error).encode(into: &buffer)
        return buffer
    }
}
