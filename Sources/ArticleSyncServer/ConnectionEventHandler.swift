import ArticleSyncProtocol
import NIOCore

/// Sits after the codec. Wraps each decoded message as a `ConnectionEvent`, turns decoding errors into
/// events, and runs the handshake and idle deadlines on the event loop.
///
/// Deadlines live here, not in the connection's task, because only this handler sees the moment a
/// complete frame arrives: a frame disarms the deadline at once, so a peer trickling one byte at a
/// time never resets it (the codec forwards nothing until the frame is whole).
final class ConnectionEventHandler: ChannelDuplexHandler {
    typealias InboundIn = ClientMessage
    typealias InboundOut = ConnectionEvent
    typealias OutboundIn = ServerMessage
    typealias OutboundOut = ServerMessage

    private let handshakeTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Messages forwarded so far; compared with the task's count to discard a stale arm request.
    private var framesForwarded = 0
    private var failed = false

    init(handshakeTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armHandshakeDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if deadline == nil, framesForwarded == 0 { armHandshakeDeadline(context: context) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        disarm()
        framesForwarded += 1
        let message = unwrapInboundIn(data)
        context.fireChannelRead(wrapInboundOut(.message(message)))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Once the bytes are out of step nothing later can be read; only the first error is reported.
        if let error = error as? ProtocolError {
            disarm()
            guard !failed else { return }
            failed = true
            context.fireChannelRead(wrapInboundOut(.decodingFailed(error.errorMessage)))
            context.fireChannelReadComplete()
        } else {
            context.fireErrorCaught(error)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let command = event as? ConnectionCommand else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch command {
        case .armIdleDeadline(let framesConsumed):
            if framesConsumed == framesForwarded, !failed {
                schedule(.idle, after: idleTimeout, context: context)
            }
        case .requestShutdown:
            context.fireChannelRead(wrapInboundOut(.shutdownRequested))
            context.fireChannelReadComplete()
        }
        promise?.succeed()
    }

    private func armHandshakeDeadline(context: ChannelHandlerContext) {
        schedule(.handshake, after: handshakeTimeout, context: context)
    }

    private func schedule(_ kind: ConnectionStateMachine.Deadline, after delay: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = loopBound.value
            handler.deadline = nil
            context.fireChannelRead(handler.wrapInboundOut(.deadlinePassed(kind)))
            context.fireChannelReadComplete()
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
