import ArticleSyncProtocol
import Logging
import NIOCore
import NIOSSL

/// The first handler of every server connection: looks at the first byte the peer sends and makes
/// sure both sides speak the same transport (PROTOCOL.md §10).
///
/// - TLS server, first byte 0x16 (a TLS handshake record): puts a `NIOSSLServerHandler` in its own
///   place and hands it the bytes.
/// - TLS server, any other first byte: the peer speaks plain articlesync; it gets a plain-text
///   ERROR `TLS_REQUIRED` (so a client can tell the user to add `--tls`) and the connection closes.
/// - Plain server, first byte 0x16: the peer tries TLS; without this check the frame decoder would
///   read the record header as a huge length and answer FRAME_TOO_LARGE, which misleads. It gets
///   ERROR `MALFORMED_FRAME` "this server does not speak TLS" and the connection closes.
/// - Plain server, any other byte: the handler steps aside.
public final class TransportSniffingHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    /// The first byte of every TLS connection: the record type "handshake".
    static let tlsHandshakeRecord: UInt8 = 0x16

    private let tlsContext: NIOSSLContext?
    private let logger: Logger
    private var decided = false

    /// `tlsContext` nil means a plain server.
    public init(tlsContext: NIOSSLContext?, logger: Logger = Logger(label: "articlesyncd.transport")) {
        self.tlsContext = tlsContext
        self.logger = logger
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            // Bytes after a refusal, while the close is under way: nobody reads them.
            return
        }
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            return
        }
        decided = true
        let speaksTLS = first == Self.tlsHandshakeRecord
        switch (tlsContext, speaksTLS) {
        case (let tlsContext?, true):
            do {
                try context.pipeline.syncOperations.addHandler(
                    NIOSSLServerHandler(context: tlsContext),
                    position: .after(self)
                )
            } catch {
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case (nil, false):
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case (_?, false):
            refuse(
                context: context,
                ErrorMessage(
                    code: .tlsRequired,
                    message: "this server speaks TLS only; connect with --tls (and --pin or --ca-file for a self-signed certificate)"
                )
            )
        case (nil, true):
            refuse(
                context: context,
                ErrorMessage(code: .malformedFrame, message: "this server does not speak TLS; connect without --tls")
            )
        }
    }

    private func refuse(context: ChannelHandlerContext, _ error: ErrorMessage) {
        logger.notice(
            "refused a peer speaking the wrong transport",
            metadata: ["peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "unknown")", "error": "\(error.code?.name ?? "\(error.rawCode)")"]
        )
        let frame = PlaintextErrorFrame.encode(error, allocator: context.channel.allocator)
        // Written from this handler towards the socket: the handlers after this one (the codec)
        // expect messages, not bytes, so the write must not start at the pipeline's tail.
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(frame), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
