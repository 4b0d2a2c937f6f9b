import ArticleSyncProtocol
import Logging
import NIOCore

/// Sits after the codec. Wraps each decoded message as a `ConnectionEvent`, turns decoding errors into
/// events, and runs the handshake and idle deadlines on the event loop.
///
/// Deadlines live here, not in the connection's task, because only this handler sees the moment a
/// complete frame arrives: a frame disarms the deadline at once, so a peer trickling one byte at a
/// time never resets it (the codec forwards nothing until the frame is whole).
///
/// The idle deadline starts when the response has reached the peer, not when the task finished
/// handing it over: the task is done long before a slow reader is, with megabytes still queued in the
/// channel and the kernel, and that time is BUSY (PROTOCOL.md §4.3). So the deadline waits for every
/// outbound write to complete, and when it passes while the kernel still holds bytes the peer has not
/// acknowledged, it waits for those too.
///
/// A peer that takes nothing of a response keeps the connection's task suspended in its write, where
/// no deadline event can reach it. So a connection whose pending writes see none completed for the
/// stall timeout is closed here: the peer has not made room for one more frame in all that time, and
/// holds a connection slot and a batch of server memory.
final class ConnectionEventHandler: ChannelDuplexHandler {
    typealias InboundIn = ClientMessage
    typealias InboundOut = ConnectionEvent
    typealias OutboundIn = ServerMessage
    typealias OutboundOut = ServerMessage

    private let handshakeTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let stallTimeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    /// Armed while writes are pending; restarted whenever one completes.
    private var stall: Scheduled<Void>?
    /// Messages forwarded so far; compared with the task's count to discard a stale arm request.
    private var framesForwarded = 0
    private var failed = false
    /// Writes handed to the channel and not yet written to the socket.
    private var writesInFlight = 0
    /// The task reported READY while writes were in flight: the idle deadline starts when they are done.
    private var idleArmPending = false

    init(
        handshakeTimeout: TimeAmount, idleTimeout: TimeAmount, stallTimeout: TimeAmount,
        logger: Logger = Logger(label: "articlesyncd")
    ) {
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.stallTimeout = stallTimeout
        self.logger = logger
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
        disarmStall()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        disarmStall()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        disarm()
        idleArmPending = false
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

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writesInFlight += 1
        if stall == nil { armStall(context: context) }
        let written = promise ?? context.eventLoop.makePromise(of: Void.self)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            let (handler, context) = loopBound.value
            handler.writeCompleted(context: context)
        }
        context.write(data, promise: written)
    }

    private func writeCompleted(context: ChannelHandlerContext) {
        writesInFlight -= 1
        armStall(context: context)
        if writesInFlight == 0, idleArmPending {
            idleArmPending = false
            schedule(.idle, after: idleTimeout, context: context)
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
                if writesInFlight > 0 {
                    idleArmPending = true
                } else {
                    schedule(.idle, after: idleTimeout, context: context)
                }
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
            handler.deadlinePassed(kind, context: context)
        }
    }

    private func deadlinePassed(_ kind: ConnectionStateMachine.Deadline, context: ChannelHandlerContext) {
        guard kind == .idle else { return report(kind, context: context) }
        checkBacklog(context: context, restartingIdle: false)
    }

    /// Asks the kernel whether the peer is still receiving the response. If it is, the idle time has
    /// not begun: look again after a fraction of the timeout, so that it starts close to when the peer
    /// has it all. If not, the idle deadline has passed, or, after such a wait, starts afresh.
    private func checkBacklog(context: ChannelHandlerContext, restartingIdle: Bool) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        PeerBacklog.check(context.channel) { peerStillReceiving in
            let (handler, context) = loopBound.value
            // A frame may have arrived, or the channel closed, while the kernel was asked.
            guard handler.deadline == nil, !handler.idleArmPending, context.channel.isActive else { return }
            if peerStillReceiving {
                handler.scheduleBacklogCheck(context: context)
            } else if restartingIdle {
                handler.schedule(.idle, after: handler.idleTimeout, context: context)
            } else {
                handler.report(.idle, context: context)
            }
        }
    }

    private func scheduleBacklogCheck(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let interval: TimeAmount = max(.milliseconds(10), min(.seconds(1), .nanoseconds(idleTimeout.nanoseconds / 4)))
        deadline = context.eventLoop.scheduleTask(in: interval) {
            let (handler, context) = loopBound.value
            handler.deadline = nil
            handler.checkBacklog(context: context, restartingIdle: true)
        }
    }

    private func report(_ kind: ConnectionStateMachine.Deadline, context: ChannelHandlerContext) {
        context.fireChannelRead(wrapInboundOut(.deadlinePassed(kind)))
        context.fireChannelReadComplete()
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    /// (Re)starts the stall deadline while writes are pending: it passes only when none completes.
    private func armStall(context: ChannelHandlerContext) {
        disarmStall()
        guard writesInFlight > 0 else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        stall = context.eventLoop.scheduleTask(in: stallTimeout) {
            let (handler, context) = loopBound.value
            handler.stall = nil
            guard handler.writesInFlight > 0, context.channel.isActive else { return }
            handler.logger.warning(
                "closing a connection whose peer took nothing of the response",
                metadata: [
                    "peer": "\(context.channel.remoteAddress?.loggable ?? "unknown")",
                    "seconds": "\(handler.stallTimeout.nanoseconds / 1_000_000_000)",
                ])
            context.close(promise: nil)
        }
    }

    private func disarmStall() {
        stall?.cancel()
        stall = nil
    }
}
