import ArticleSyncProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Reads the first bytes a TLS server sends, in front of the TLS handler. A server that refuses a
/// connection before it has read a byte of it (TOO_MANY_CONNECTIONS at accept, SHUTTING_DOWN) has no
/// TLS session yet and sends its ERROR in plain text (PROTOCOL.md §10), which the TLS handler would
/// only call "wrong version number". A TLS record (first byte 20 to 23) passes untouched and the
/// sniffer leaves; a whole plain ERROR frame becomes the attempt's failure and the connection closes;
/// anything else goes on to the TLS handler, which refuses it. It holds at most one ERROR frame's
/// bytes (about 1 KiB), and nothing it reads is trusted beyond being shown: it came before TLS.
final class PlainRefusalSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The largest ERROR frame: type, flags, code and a message of MAX_ERROR_MESSAGE bytes.
    static let rules = FrameRules(
        maxFrameLength: UInt32(2 + 2 + 2 + ProtocolLimits.maxErrorMessageLength), maxInflatedLength: 0, acceptsCompressed: false)

    private let record: NIOLockedValueBox<TLSFailure?>
    private var held = ByteBuffer()
    /// Still looking: false once the bytes went on to TLS (or the refusal was read).
    private var sniffing = true

    init(record: NIOLockedValueBox<TLSFailure?>) {
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard sniffing else { return context.fireChannelRead(data) }
        var chunk = unwrapInboundIn(data)
        held.writeBuffer(&chunk)
        // A frame's length is below 16 MiB, so its first byte is 0; a TLS record's is its type.
        guard held.readableBytesView.first == 0 else { return passOn(context) }
        var frameBytes = held
        let frame: Frame
        do {
            guard let whole = try FrameDecoder.split(&frameBytes, rules: Self.rules) else { return }
            frame = whole
        } catch {
            return passOn(context)
        }
        guard case .error(let error)? = try? ServerMessage(frame: frame) else { return passOn(context) }
        sniffing = false
        held = ByteBuffer()
        record.withLockedValue { $0 = .refusedInPlain(error) }
        context.close(promise: nil)
    }

    /// Hands what it holds to the TLS handler and leaves the pipeline.
    private func passOn(_ context: ChannelHandlerContext) {
        sniffing = false
        let bytes = held
        held = ByteBuffer()
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
