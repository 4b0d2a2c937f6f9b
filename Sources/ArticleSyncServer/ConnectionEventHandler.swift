import ArticleSyncProtocol
import NIOCore

/// Sits after the codec and turns what the channel sees into `ConnectionEvent`s for the connection's
/// task, in the order they happen: frames and broken frame rules from the decoder, the progress of
/// outbound writes (which the stall deadline and BUSY need), and events the task or its timers hand
/// in with `ConnectionCommand`. It decides nothing: every rule is in `ConnectionStateMachine`.
final class ConnectionEventHandler: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias InboundOut = ConnectionEvent
    typealias OutboundIn = ServerMessage
    typealias OutboundOut = ServerMessage

    /// Writes handed to the channel and not yet written to the socket.
    private var writesInFlight = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .frame(let frame): context.fireChannelRead(wrapInboundOut(.frame(frame)))
        case .rejected(let error):
            // A broken frame rule is fatal (§3) and the decoder drops whatever follows: reading on
            // until the connection closes would only fill buffers.
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            context.fireChannelRead(wrapInboundOut(.frameRejected(error)))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writesInFlight += 1
        if writesInFlight == 1 { deliver(.writesPending, context: context) }
        let written = promise ?? context.eventLoop.makePromise(of: Void.self)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            let (handler, context) = loopBound.value
            handler.writesInFlight -= 1
            handler.deliver(.writeCompleted(remaining: handler.writesInFlight), context: context)
        }
        context.write(data, promise: written)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let command = event as? ConnectionCommand else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        deliver(command.event, context: context)
        promise?.succeed()
    }

    private func deliver(_ event: ConnectionEvent, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        context.fireChannelRead(wrapInboundOut(event))
        context.fireChannelReadComplete()
    }
}
