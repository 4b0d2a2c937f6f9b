import ArticleSyncProtocol
import NIOCore

/// The server's outbound encoder, between the socket and `ConnectionHandler`: a
/// `ServerMessage` becomes one frame in a buffer of its own size, and `SharedFrames` (bytes the
/// tail broadcaster encoded once for many clients) pass as they are, without a copy.
///
/// It keeps no buffer between writes, unlike `MessageToByteHandler`, which holds its last one for the
/// life of the connection: a parked long poll holds no encoder memory. It also notes, for the
/// metrics, where the conversation is (before WELCOME, in a request) and every ERROR's code; it
/// decides nothing.
final class ServerFrameHandler: ChannelOutboundHandler {
    /// `ServerMessage` or `SharedFrames`; NIO offers no typed union of two outbound types.
    typealias OutboundIn = Any
    typealias OutboundOut = ByteBuffer

    private let metrics: ServerMetrics
    private var welcomed = false
    private var busy = false

    /// The last BATCH's buffer, kept while a response streams: once the socket has taken the batch,
    /// the next one is encoded into the same memory. A fresh megabyte per batch costs more than its
    /// copy, in page faults. Dropped when the response completes, so a connection that waits holds none.
    private var batchBuffer: ByteBuffer?

    init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    /// A request frame arrived (`ConnectionHandler`): the connection is busy until its response is written.
    func requestArrived() {
        if welcomed { setBusy(true) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case let shared as SharedFrames:
            setBusy(false)
            context.write(wrapOutboundOut(shared.bytes), promise: promise)
        case let message as ServerMessage:
            var buffer: ByteBuffer
            // Moved out, not copied: a second reference would make `clear` allocate anew. If the
            // last batch is still in flight, its write holds it too, and that is what happens.
            if case .batch = message, var last = batchBuffer.take() {
                last.clear()
                last.reserveCapacity(message.encodedSizeEstimate)
                buffer = last
            } else {
                buffer = context.channel.allocator.buffer(capacity: message.encodedSizeEstimate)
            }
            message.encode(into: &buffer)
            if case .batch = message {
                batchBuffer = buffer
            } else if message.completesResponse {
                batchBuffer = nil
            }
            switch message {
            case .welcome:
                if !welcomed {
                    welcomed = true
                    metrics.updateStates { $0.welcomed += 1 }
                }
            case .error(let error):
                metrics.errorSent(error)
                setBusy(false)
            case .caughtUp, .snapshotRequired, .pushResult, .verifyResult, .dictionary, .pong:
                setBusy(false)
            case .batch, .ping:
                break
            }
            context.write(wrapOutboundOut(buffer), promise: promise)
        case let other:
            promise?.fail(ChannelError.operationUnsupported)
            assertionFailure("the server's channel was handed a \(type(of: other)) to write")
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        batchBuffer = nil
        setBusy(false)
        if welcomed {
            welcomed = false
            metrics.updateStates { $0.welcomed -= 1 }
        }
    }

    private func setBusy(_ value: Bool) {
        guard value != busy else { return }
        busy = value
        metrics.updateStates { $0.busy += value ? 1 : -1 }
    }
}

extension ServerMessage {
    /// About the frame's size, so that the buffer is allocated once: a BATCH can be megabytes.
    fileprivate var encodedSizeEstimate: Int {
        guard case .batch(let batch) = self else { return 256 }
        var size = Frame.lengthFieldSize + Frame.headerSize + ChangeEncoder.batchHeaderSize
        for change in batch.changes { size += ChangeEncoder.payloadSize(of: change) }
        return size
    }
}
