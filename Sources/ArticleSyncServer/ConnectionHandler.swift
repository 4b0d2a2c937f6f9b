import ArticleSyncProtocol
import NIOCore

/// The conversation of one connection, on its event loop: the thin channel handler around
/// `ConnectionStateMachine`. It turns what the channel sees into the machine's events, in the order
/// they happen (frames from the `FrameReader`, the progress of writes, the events its work, its
/// timers and the server hand in as `ConnectionCommand`s), and runs the actions the machine returns:
/// those that wait on the store or the authenticator as tasks (`Connection`), the rest at once.
/// It decides nothing.
///
/// Frames are read one at a time, as the machine takes them: a frame the state refuses is refused
/// from its header, before its body is buffered, and nothing is read from the socket while a
/// compressed frame is being inflated. A connection therefore holds at most one frame and one read
/// of bytes, and an idle one holds no task.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Never
    /// `ServerMessage` or `SharedFrames`, passed on as they are.
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    private let connection: Connection
    private let encoder: ServerFrameHandler
    private var machine: ConnectionStateMachine
    private var reader = FrameReader()
    private var timers = Connection.Timers()
    /// Inflation budget a PUSH holds until its request finishes, as the push holds the bytes as long.
    private var inflationHeld = 0
    private var parked: Connection.ParkedPull?
    /// A compressed frame is being inflated: no other frame is read meanwhile.
    private var decoding = false
    /// A read the channel asked for while `decoding` or `waitingForInput`, made once neither holds.
    private var readHeld = false
    /// Bytes of the server's input budget this connection holds for what its reader buffers
    /// beyond `freeInput`.
    private var inputHeld = 0
    /// In line for the input budget, under this id: nothing is read meanwhile.
    private var inputWait: Int?
    /// Writes handed to the channel and not yet written to the socket.
    private var writesInFlight = 0
    private var work: [Int: Task<Void, Never>] = [:]
    private var nextWork = 0
    private var isOpen = true
    /// Inside `readFrames`: a response completed meanwhile (written at once) finishes only after the
    /// bytes already read are judged, as they were sent before the peer could have read it.
    private var readingFrames = false
    private var finishedWhileReading: [ConnectionEvent] = []
    private var context: ChannelHandlerContext?
    private let onClose: @Sendable () -> Void

    init(connection: Connection, encoder: ServerFrameHandler, onClose: @escaping @Sendable () -> Void) {
        self.connection = connection
        self.encoder = encoder
        self.machine = connection.makeMachine()
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The handshake deadline runs from the accept.
        apply(.read)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ended()
        self.context = nil
    }

    // MARK: Inbound

    /// What a connection may buffer of unfinished frames without the input budget: every READ
    /// request, and a HELLO with an ordinary token, fit in it.
    static let freeInput = 1_024

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard isOpen, !machine.isClosed else { return }
        reader.append(unwrapInboundIn(data))
        readFrames()
        accountInput()
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A socket error ends the connection; the machine hears of it as a close.
        context.close(promise: nil)
    }

    /// Hands the machine every frame, or frame header, the buffered bytes hold, as long as it takes them.
    private func readFrames() {
        readingFrames = true
        defer {
            readingFrames = false
            let finished = finishedWhileReading
            finishedWhileReading = []
            for event in finished { received(event) }
        }
        while isOpen, !decoding, !machine.isClosed {
            let next: FrameReader.Next
            do {
                next = try reader.next(rules: machine.frameRules)
            } catch {
                reader.discardAll()
                apply(machine.frameRejected(error))
                return
            }
            switch next {
            case .needMoreBytes:
                return
            case .announced(let type):
                if let refused = machine.frameAnnounced(type) {
                    reader.discardAll()
                    apply(refused)
                    return
                }
            case .frame(let frame):
                if frame.type.isRequest, machine.session != nil { encoder.requestArrived() }
                apply(machine.frameArrived(frame))
            }
        }
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        guard !decoding, inputWait == nil else {
            readHeld = true
            return
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writesInFlight += 1
        let written = promise ?? context.eventLoop.makePromise(of: Void.self)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            let handler = loopBound.value
            handler.writesInFlight -= 1
            handler.received(.writeCompleted(remaining: handler.writesInFlight))
        }
        if writesInFlight == 1 { received(.writesPending) }
        context.write(data, promise: written)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let command = event as? ConnectionCommand else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        received(command.event)
        promise?.succeed()
    }

    // MARK: The conversation

    private func received(_ event: ConnectionEvent) {
        guard isOpen else {
            if case .frameDecoded(_, let reserved) = event { connection.server.inflation.release(reserved) }
            return
        }
        switch event {
        case .longPollEnded(let outcome, let id):
            if let waiting = parked, waiting.id == id {
                parked = nil
                connection.resumePull(waiting, after: outcome, spawn: spawn)
            }
            return
        case .requestFinished where readingFrames:
            finishedWhileReading.append(event)
        case .requestFinished:
            connection.server.inflation.release(inflationHeld)
            inflationHeld = 0
            // A parked pull's response was written by the tail broadcaster.
            parked = nil
            apply(Connection.handle(event, machine: &machine))
        case .frameDecoded(let decoded, let reserved):
            decoding = false
            if case .success(.push) = decoded {
                inflationHeld += reserved
            } else {
                connection.server.inflation.release(reserved)
            }
            apply(Connection.handle(event, machine: &machine))
            resumeReading()
        default:
            apply(Connection.handle(event, machine: &machine))
        }
    }

    /// Runs `action` as far as it goes without waiting.
    private func apply(_ action: ConnectionStateMachine.Action) {
        var action = action
        while isOpen {
            timers.sync(conversation: machine.conversationDeadline, stall: machine.stallDeadline, on: connection.channel)
            switch action {
            case .read:
                return
            case .decode(let frame, let maxInflatedLength):
                guard frame.wasCompressed else {
                    // Cheap: no inflation, the layout is read in place.
                    switch Connection.decode(frame, maxInflatedLength: maxInflatedLength) {
                    case .success(let message): action = machine.messageDecoded(message)
                    case .failure(let error): action = machine.decodingFailed(error)
                    }
                    continue
                }
                decodeInTask(frame, maxInflatedLength: maxInflatedLength)
                return
            case .closeWithError(let error):
                stopWork()
                connection.log(closingWith: error)
                connection.sendFinalError(error)
                return
            case .close(let reason):
                stopWork()
                close(reason)
                return
            case .authenticate, .sendWelcome, .perform, .respond, .checkPeerBacklog:
                if let parking = connection.start(action, spawn: spawn) { parked = parking }
                action = .read
            }
        }
    }

    private func decodeInTask(_ frame: Frame, maxInflatedLength: UInt32) {
        decoding = true
        let connection = self.connection
        let loopBound = NIOLoopBound(self, eventLoop: connection.channel.eventLoop)
        spawn {
            guard let event = await connection.decodeCompressed(frame, maxInflatedLength: maxInflatedLength) else { return }
            connection.channel.eventLoop.execute { loopBound.value.received(event) }
        }
    }

    /// Holds the input budget for what the reader buffers beyond `freeInput`: gives back what it no
    /// longer needs, takes what it needs more, or waits in line for it, reading nothing meanwhile.
    /// A frame announced takes what its whole size needs at once, so that the budget goes to frames
    /// that can be finished instead of a little to each of many that cannot.
    private func accountInput() {
        guard isOpen, inputWait == nil else { return }
        let budget = connection.server.input
        let wanted = max(reader.bufferedBytes, reader.announcedFrameSize ?? 0)
        let needed = min(max(0, wanted - Self.freeInput), budget.capacity)
        if needed < inputHeld {
            budget.release(inputHeld - needed)
            inputHeld = needed
        } else if needed > inputHeld {
            let more = needed - inputHeld
            let loopBound = NIOLoopBound(self, eventLoop: connection.channel.eventLoop)
            let eventLoop = connection.channel.eventLoop
            switch budget.take(more, granted: { eventLoop.execute { loopBound.value.inputGranted(more) } }) {
            case .taken:
                inputHeld = needed
            case .waiting(let id):
                inputWait = id
                apply(machine.inputHeldBack(true))
            }
        }
    }

    private func inputGranted(_ bytes: Int) {
        inputWait = nil
        guard isOpen else {
            connection.server.input.release(bytes)
            return
        }
        apply(machine.inputHeldBack(false))
        inputHeld += bytes
        accountInput()
        resumeReading()
    }

    private func resumeReading() {
        readFrames()
        accountInput()
        if readHeld, !decoding, inputWait == nil, let context {
            readHeld = false
            context.read()
        }
    }

    /// Starts `body` as a task of this connection, cancelled if the connection closes first.
    private var spawn: Connection.Spawn {
        { [self] body in
            let id = nextWork
            nextWork += 1
            let loopBound = NIOLoopBound(self, eventLoop: connection.channel.eventLoop)
            let eventLoop = connection.channel.eventLoop
            work[id] = Task {
                await body()
                eventLoop.execute { loopBound.value.work[id] = nil }
            }
        }
    }

    private func stopWork() {
        for task in work.values { task.cancel() }
        work = [:]
        reader.discardAll()
    }

    /// Closes without a word (the machine's `.close`).
    private func close(_ reason: ConnectionStateMachine.CloseReason) {
        let channel = connection.channel
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        if reason == .stalled {
            connection.logger.warning(
                "closing a connection whose peer took nothing of the response",
                metadata: ["seconds": "\(connection.server.configuration.stallTimeout.components.seconds)"])
        }
        channel.close(promise: nil)
    }

    /// The channel closed: whatever runs for it stops, and what it holds is given back. Once.
    private func ended() {
        guard isOpen else { return }
        machine.channelClosed()
        stopWork()
        isOpen = false
        timers.cancelAll()
        connection.server.inflation.release(inflationHeld)
        inflationHeld = 0
        connection.server.input.release(inputHeld)
        inputHeld = 0
        // Granted meanwhile: `inputGranted` gives the bytes back.
        if let id = inputWait, connection.server.input.withdraw(id) { inputWait = nil }
        if let parked { connection.server.notifier.cancel(parked.id) }
        parked = nil
        onClose()
    }
}

extension MessageType {
    /// A frame a client sends to ask for a response.
    var isRequest: Bool {
        switch self {
        case .pull, .push, .verify, .getDictionary, .ping: return true
        default: return false
        }
    }
}
