import NIOCore

/// The two read deadlines of a connection, so a server can neither go silent nor dawdle forever:
/// - silence: `IdleStateHandler`'s read-idle event (any byte resets it) becomes an error;
/// - progress: once a frame's first byte has come, the whole frame must arrive within
///   `frameTimeout`. A server that trickles a byte a second passes the silence rule for ever.
///
/// Frames are told apart here by their 4-byte length prefix alone (PROTOCOL.md §3); the decoder
/// behind this handler checks everything else, an oversized length included.
final class ReadTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    struct Timeout: Error, CustomStringConvertible {
        var description: String { "the server stopped answering" }
    }

    struct FrameTooSlow: Error, CustomStringConvertible {
        var received: Int
        var frameLength: Int?
        var timeout: TimeAmount

        var description: String {
            let seconds = Double(timeout.nanoseconds) / 1e9
            let of = frameLength.map { "of a \($0)-byte frame " } ?? "of a frame "
            return "the server sent only \(received) bytes \(of)in \(seconds) s, too slow to go on waiting"
        }
    }

    private let frameTimeout: TimeAmount
    /// When the current frame's first byte came; nil between frames.
    private var frameStarted: NIODeadline?
    private var headerBytesSeen = 0
    private var frameLength = 0
    private var receivedOfFrame = 0
    /// At most one check is scheduled; it re-arms itself for a frame still in progress.
    private var check: Scheduled<Void>?

    init(frameTimeout: TimeAmount) {
        self.frameTimeout = frameTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        track(buffer.readableBytesView, context: context)
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.fireErrorCaught(Timeout())
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    private func track(_ bytes: ByteBufferView, context: ChannelHandlerContext) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if frameStarted == nil {
                frameStarted = context.eventLoop.now
                headerBytesSeen = 0
                frameLength = 0
                receivedOfFrame = 0
                if check == nil { schedule(at: frameStarted! + frameTimeout, context: context) }
            }
            if headerBytesSeen < 4 {
                frameLength = frameLength << 8 | Int(bytes[index])
                headerBytesSeen += 1
                receivedOfFrame += 1
                index += 1
                if headerBytesSeen == 4 && frameLength == 0 { frameStarted = nil }
            } else {
                let taken = min(frameLength - (receivedOfFrame - 4), bytes.endIndex - index)
                index += taken
                receivedOfFrame += taken
                if receivedOfFrame - 4 == frameLength { frameStarted = nil }
            }
        }
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.checkProgress(context: context)
        }
    }

    private func checkProgress(context: ChannelHandlerContext) {
        check = nil
        guard let started = frameStarted else { return }
        let deadline = started + frameTimeout
        guard context.eventLoop.now >= deadline else {
            schedule(at: deadline, context: context)
            return
        }
        frameStarted = nil
        context.fireErrorCaught(FrameTooSlow(
            received: receivedOfFrame, frameLength: headerBytesSeen == 4 ? frameLength + 4 : nil, timeout: frameTimeout))
        context.close(promise: nil)
    }
}
