import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore

/// One client's conversation: reads events, feeds them to the state machine, runs its actions.
/// Everything the connection does with the store and the wire happens here and in its extensions;
/// every decision about the conversation is the machine's.
///
/// Requests run in child tasks, so that the events of the channel (a frame the peer should not
/// have sent, a deadline, a revoked token, the server stopping) reach the machine while a response
/// is being written. A long poll parked at the known head runs no task at all: the notifier holds a
/// callback that hands its outcome back as an event, and only then does a task go on with the pull.
/// The conversation runs in the connection's own task, so a parked follower costs one task.
///
/// The machine is the run loop's own; what the child tasks capture is this small value.
struct Connection: Sendable {
    typealias Inbound = NIOAsyncChannelInboundStream<ConnectionEvent>

    let channel: any Channel
    let server: ServerContext
    let counters: ConnectionCounters
    let frameRules: FrameRulesBox
    /// The peer's address, as the logs name it.
    let peer: String

    init(channel: any Channel, server: ServerContext, counters: ConnectionCounters, frameRules: FrameRulesBox, peer: String) {
        self.channel = channel
        self.server = server
        self.counters = counters
        self.frameRules = frameRules
        self.peer = peer
    }

    /// The server's logger with this peer's address: made when something is logged, so that a
    /// connection holds no logger metadata of its own.
    var logger: Logger { server.logger.naming(peer: peer) }

    private func makeMachine() -> ConnectionStateMachine {
        let configuration = server.configuration
        let isLoopback = channel.remoteAddress.map(LoopbackAddress.contains) ?? false
        return ConnectionStateMachine(configuration: .init(
            features: configuration.features, maxFrameLength: configuration.maxFrameLength,
            maxInflatedLength: min(configuration.maxInflatedLength, UInt32(clamping: server.inflation.capacity)),
            maxPushEntries: configuration.maxPushEntries, isTLS: configuration.tlsContext != nil, isLoopback: isLoopback,
            handshakeTimeout: TimeAmount(configuration.handshakeTimeout), idleTimeout: TimeAmount(configuration.idleTimeout),
            stallTimeout: TimeAmount(configuration.stallTimeout)))
    }

    /// Receive buffers until WELCOME, and for good on a READ connection: its requests are a few dozen
    /// bytes, and what a peer sends beyond them is not worth memory.
    static let smallReads = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 2_048)
    /// Receive buffers of a WRITE connection: a PUSH's reads grow to its size within a few reads.
    static let pushReads = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2_048, maximum: 65_536)

    /// A long poll parked with the notifier, and what the pull needs to go on once the wait ends.
    struct ParkedPull: Sendable {
        var id: Int
        var pull: Pull
        var session: ConnectionStateMachine.Session
    }

    /// What the run loop must await next; everything else happens in `Loop.apply`, synchronously.
    private enum Await {
        case event
        case decode(Frame, maxInflatedLength: UInt32)
        case finalError(ErrorMessage)
        case end
    }

    /// The run loop's state: the machine, its timers, the budget a push holds, a parked long poll.
    private struct Loop {
        let connection: Connection
        var machine: ConnectionStateMachine
        var timers = Timers()
        var inflationHeld = 0
        var parked: ParkedPull?

        /// Runs `action` as far as it goes without waiting; returns what to await then.
        @inline(never)
        mutating func apply(_ action: ConnectionStateMachine.Action, work: inout DiscardingTaskGroup) -> Await {
            var action = action
            while true {
                connection.frameRules.current = machine.frameRules
                timers.sync(conversation: machine.conversationDeadline, stall: machine.stallDeadline, on: connection.channel)
                switch action {
                case .read:
                    return .event
                case .decode(let frame, let maxInflatedLength):
                    return .decode(frame, maxInflatedLength: maxInflatedLength)
                case .closeWithError(let error):
                    work.cancelAll()
                    connection.log(closingWith: error)
                    return .finalError(error)
                case .close(let reason):
                    work.cancelAll()
                    connection.close(reason)
                    return .end
                case .authenticate, .sendWelcome, .perform, .respond, .checkPeerBacklog:
                    connection.start(action, work: &work, parked: &parked)
                    action = .read
                }
            }
        }

        @inline(never)
        mutating func received(_ event: ConnectionEvent, work: inout DiscardingTaskGroup) -> ConnectionStateMachine.Action {
            switch event {
            case .longPollEnded(let outcome, let id):
                if let waiting = parked, waiting.id == id {
                    parked = nil
                    connection.resumePull(waiting, after: outcome, work: &work)
                }
                return .read
            case .requestFinished:
                connection.server.inflation.release(inflationHeld)
                inflationHeld = 0
                // A parked pull's response was written by the tail broadcaster.
                parked = nil
                return Connection.handle(event, machine: &machine)
            default:
                return Connection.handle(event, machine: &machine)
            }
        }

        @inline(never)
        mutating func channelClosed(work: inout DiscardingTaskGroup) {
            machine.channelClosed()
            work.cancelAll()
        }

        @inline(never)
        mutating func finish() {
            timers.cancelAll()
            connection.server.inflation.release(inflationHeld)
            inflationHeld = 0
            if let parked { connection.server.notifier.cancel(parked.id) }
            parked = nil
        }
    }

    /// Runs until the conversation ends. The loop awaits only what `Await` names and does the rest in
    /// out-of-line steps: inlined, every temporary of the machine's transitions would become part of
    /// this function's async frame, which a parked connection holds for its whole wait.
    @inline(never)
    func run(inbound: Inbound) async {
        var loop = Loop(connection: self, machine: makeMachine())
        defer { loop.finish() }
        // Discarding: a finished request's task is freed at once instead of waiting for the group.
        await withDiscardingTaskGroup { work in
            var events = inbound.makeAsyncIterator()
            var next = loop.apply(.read, work: &work)
            while true {
                switch next {
                case .event:
                    guard let event = await Self.next(&events) else {
                        loop.channelClosed(work: &work)
                        return
                    }
                    next = loop.apply(loop.received(event, work: &work), work: &work)
                case .decode(let frame, let maxInflatedLength):
                    let action = await decode(
                        frame, maxInflatedLength: maxInflatedLength, held: &loop.inflationHeld, machine: &loop.machine)
                    next = loop.apply(action, work: &work)
                case .finalError(let error):
                    await sendFinalError(error)
                    return
                case .end:
                    return
                }
            }
        }
    }

    /// Closes without a word (the machine's `.close`).
    private func close(_ reason: ConnectionStateMachine.CloseReason) {
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        if reason == .stalled {
            logger.warning(
                "closing a connection whose peer took nothing of the response",
                metadata: ["seconds": "\(server.configuration.stallTimeout.components.seconds)"])
        }
        channel.close(promise: nil)
    }

    /// The next event; nil once the channel is closed.
    @inline(never)
    private static func next(_ events: inout Inbound.AsyncIterator) async -> ConnectionEvent? {
        do {
            return try await events.next()
        } catch {
            return nil
        }
    }

    /// Starts the work of an action that does not end the loop; its outcome comes back as an event.
    @inline(never)
    fileprivate func start(_ action: ConnectionStateMachine.Action, work: inout DiscardingTaskGroup, parked: inout ParkedPull?) {
        let connection = self
        switch action {
        case .authenticate(let token):
            let request = AuthenticationRequest(
                token: token, peer: channel.remoteAddress, isEncrypted: server.configuration.tlsContext != nil)
            let authenticator = server.configuration.authenticator
            let channel = self.channel
            work.addTask {
                let decision = await authenticator.authenticate(request)
                Self.deliver(.authenticated(decision), on: channel)
            }

        case .sendWelcome(let session):
            server.registry.granted(channel, token: session.token, role: session.role)
            if session.role >= .write {
                channel.setOption(ChannelOptions.recvAllocator, value: Self.pushReads).whenComplete { _ in }
            }
            work.addTask { await connection.respond { try await connection.sendWelcome(session) } }

        case .perform(let request, let session):
            counters.addRequest()
            if case .pull(let pull) = request, PullDecision.parksAtKnownHead(pull, storeID: server.storeID, knownHead: server.notifier.head) {
                parked = park(pull, session: session)
            } else {
                work.addTask { await connection.respond { try await connection.perform(request, session: session) } }
            }

        case .respond(let message):
            if case .pong = message { counters.addRequest() }
            let channel = self.channel
            channel.writeAndFlush(message).whenComplete { _ in Self.deliver(.requestFinished(error: nil), on: channel) }

        case .checkPeerBacklog(let id):
            let channel = self.channel
            PeerBacklog.check(channel) { stillReceiving in
                Self.deliver(.peerBacklogChecked(stillReceiving: stillReceiving, id), on: channel)
            }

        case .read, .decode, .closeWithError, .close:
            // The run loop itself does these.
            break
        }
    }

    /// Goes on with a pull whose long poll ended without the tail broadcaster's answer: it reads on
    /// its own (the head moved), or completes with CAUGHT_UP (the wait ended, the server stops).
    @inline(never)
    fileprivate func resumePull(_ waiting: ParkedPull, after outcome: RevisionNotifier.Outcome, work: inout DiscardingTaskGroup) {
        switch outcome {
        case .answered, .cancelled:
            // Answered: the broadcaster wrote the response and reports its end.
            return
        case .advanced, .timedOut, .shuttingDown:
            let connection = self
            work.addTask { await connection.respond { try await connection.finishParkedPull(waiting.pull, session: waiting.session) } }
        }
    }

    @inline(never)
    fileprivate static func handle(_ event: ConnectionEvent, machine: inout ConnectionStateMachine) -> ConnectionStateMachine.Action {
        switch event {
        case .frame(let frame): return machine.frameArrived(frame)
        case .frameRejected(let error): return machine.frameRejected(error)
        case .authenticated(let decision): return machine.authenticated(decision)
        case .requestFinished(let error): return machine.requestFinished(error: error)
        case .writesPending: return machine.writesBecamePending()
        case .writeCompleted(let remaining): return machine.writeCompleted(remaining: remaining)
        case .deadlinePassed(let id): return machine.deadlinePassed(id)
        case .peerBacklogChecked(let stillReceiving, let id): return machine.peerBacklogChecked(stillReceiving: stillReceiving, id)
        case .credentialsRevoked: return machine.credentialsRevoked()
        case .shutdownRequested: return machine.shutdownRequested()
        case .longPollEnded:
            // The connection's own: how a request is performed, not a rule of the conversation.
            return .read
        }
    }

    /// Inflates (within the server's budget) and decodes a frame the machine accepted. The budget
    /// taken for a PUSH is held until its request finishes, as the push holds the bytes as long.
    @inline(never)
    private func decode(
        _ frame: Frame, maxInflatedLength: UInt32, held: inout Int, machine: inout ConnectionStateMachine
    ) async -> ConnectionStateMachine.Action {
        var reserved = 0
        if frame.wasCompressed, let claimed = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self),
            claimed <= maxInflatedLength
        {
            reserved = Int(claimed)
            guard await server.inflation.reserve(reserved, abandonedWhen: channel.closeFuture) else { return .close(.peerClosed) }
        }
        let decoded = Result { () throws(ProtocolError) -> ClientMessage in
            try ClientMessage(frame: try frame.inflated(maxInflatedLength: maxInflatedLength))
        }
        switch decoded {
        case .success(let message):
            if case .push = message {
                held += reserved
            } else {
                server.inflation.release(reserved)
            }
            return machine.messageDecoded(message)
        case .failure(let error):
            server.inflation.release(reserved)
            return machine.decodingFailed(error)
        }
    }

    /// Runs one response in the connection's work group. Its last message reports the end itself
    /// (`Outbound`); a request that fails reports its error here.
    private func respond(_ body: () async throws -> Void) async {
        do {
            try await body()
        } catch let failure as RequestFailure where !failure.isCancellation {
            Self.deliver(.requestFinished(error: failure.error), on: channel)
        } catch {
            // Cancelled, or the channel failed: the conversation is over either way.
        }
    }

    private func sendWelcome(_ session: ConnectionStateMachine.Session) async throws {
        let welcome = try await makeWelcome(session)
        try await send(.welcome(welcome))
        logger.debug("handshake complete", metadata: ["role": "\(session.role)", "features": "\(session.features.rawValue)"])
    }

    private func makeWelcome(_ session: ConnectionStateMachine.Session) async throws(RequestFailure) -> Welcome {
        let snapshot = try await storeCall { try await server.store.snapshot() }
        return Welcome(
            version: session.version, features: session.features, storeID: server.storeID, headRevision: snapshot.head,
            horizon: snapshot.horizon, maxFrameLength: session.frameRules.maxFrameLength, role: session.role,
            agent: server.configuration.agent)
    }

    private func perform(_ request: ConnectionStateMachine.Request, session: ConnectionStateMachine.Session) async throws {
        let outbound = Outbound(channel: channel)
        switch request {
        case .pull(let pull):
            try await performPull(pull, session: session, outbound: outbound)
        case .push(let push):
            try await performPush(push, outbound: outbound)
        case .verify(let revision):
            try await performVerify(atRevision: revision, outbound: outbound)
        case .getDictionary(let id):
            guard let bytes = try await storeCall({ try await server.dictionaries.dictionary(id: id) }) else {
                throw RequestFailure(.unknownDictionary, "the server has no dictionary with id \(id)")
            }
            try await send(.dictionary(StoreDictionary(id: id, bytes: ByteBuffer(bytes: bytes))))
        }
    }

    func send(_ message: ServerMessage) async throws {
        try await Outbound(channel: channel).write(message)
    }

    /// Runs a store operation; a failure of the store becomes INTERNAL_ERROR for the client and an
    /// error in the log (with the real reason, which the client does not see).
    func storeCall<T>(_ body: () async throws -> T) async throws(RequestFailure) -> T {
        do {
            return try await body()
        } catch {
            // A peer that went away cancels its request: that is no failure of the store.
            if error is CancellationError || Task.isCancelled { throw .cancelled }
            logger.error("store operation failed: \(error)")
            throw RequestFailure(.internalError, "the server cannot read its store; its operator must look at the server's log")
        }
    }

    fileprivate func log(closingWith error: ErrorMessage) {
        let code = error.code ?? .internalError
        switch code {
        case .malformedFrame, .frameTooLarge, .inflatedTooLarge, .badCompression, .unknownMessageType, .unexpectedMessage,
             .badMagic, .handshakeTimeout, .idleTimeout, .requestTooLarge:
            logger.notice("closing: \(code.name): \(error.message)")
        case .noCommonVersion, .authRequired, .authFailed, .forbidden, .tooManyConnections, .shuttingDown,
             .unknownDictionary, .tlsRequired, .rateLimited:
            logger.info("closing: \(code.name): \(error.message)")
        case .internalError:
            logger.error("closing: \(code.name): \(error.message)")
        }
    }

    /// Sends a fatal ERROR and closes. Written on the channel itself so the close waits for the frame to
    /// reach the socket, but never longer than a second: a peer that reads nothing does not hold us.
    @inline(never)
    private func sendFinalError(_ error: ErrorMessage) async {
        let channel = self.channel
        // Nothing more the peer sends will be read: stop taking its bytes off the socket meanwhile.
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ServerMessage.error(error), promise: written)
        let timer = channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        written.futureResult.whenComplete { _ in
            timer.cancel()
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
    }

    /// Hands `event` to the connection's task through its channel, in order with the frames.
    static func deliver(_ event: ConnectionEvent, on channel: any Channel) {
        channel.triggerUserOutboundEvent(ConnectionCommand.deliver(event), promise: nil)
    }
}

extension Connection {
    /// The writer a request answers through: each message reaches the socket before the next is
    /// written. The message that completes a response reports `requestFinished` from the event loop
    /// the moment it is written, before the loop reads anything more of the peer: a client may send
    /// its next request as soon as it has the response, and that frame must find the machine READY.
    struct Outbound: Sendable {
        let channel: any Channel

        func write(_ message: ServerMessage) async throws {
            let written = channel.eventLoop.makePromise(of: Void.self)
            if message.completesResponse {
                let channel = self.channel
                written.futureResult.whenSuccess { Connection.deliver(.requestFinished(error: nil), on: channel) }
            }
            channel.writeAndFlush(message, promise: written)
            try await written.futureResult.get()
        }
    }

    /// The machine's deadlines, scheduled on the event loop; each passes as an event carrying its id.
    struct Timers {
        private var conversation: (id: ConnectionStateMachine.DeadlineID, task: Scheduled<Void>)?
        private var stall: (id: ConnectionStateMachine.DeadlineID, task: Scheduled<Void>)?

        mutating func sync(conversation wanted: ConnectionStateMachine.Deadline?, stall wantedStall: ConnectionStateMachine.Deadline?, on channel: any Channel) {
            Self.sync(&conversation, to: wanted, on: channel)
            Self.sync(&stall, to: wantedStall, on: channel)
        }

        mutating func cancelAll() {
            conversation?.task.cancel()
            stall?.task.cancel()
            conversation = nil
            stall = nil
        }

        private static func sync(
            _ slot: inout (id: ConnectionStateMachine.DeadlineID, task: Scheduled<Void>)?,
            to wanted: ConnectionStateMachine.Deadline?, on channel: any Channel
        ) {
            guard slot?.id != wanted?.id else { return }
            slot?.task.cancel()
            slot = wanted.map { deadline in
                let task = channel.eventLoop.scheduleTask(in: deadline.delay) {
                    Connection.deliver(.deadlinePassed(deadline.id), on: channel)
                }
                return (deadline.id, task)
            }
        }
    }
}

extension ServerMessage {
    /// Whether this message is the last of a response (§4.1): everything but a BATCH.
    var completesResponse: Bool {
        switch self {
        case .batch, .ping: return false
        case .pong, .error, .welcome, .caughtUp, .snapshotRequired, .pushResult, .verifyResult, .dictionary: return true
        }
    }
}

/// A request that ends with an ERROR instead of its normal response.
struct RequestFailure: Error {
    var error: ErrorMessage
    /// The request was cancelled (its peer went away): nothing is answered or logged.
    var isCancellation = false

    init(_ code: ErrorCode, _ message: String) {
        error = ErrorMessage(code: code, message: message)
    }

    static let cancelled: RequestFailure = {
        var failure = RequestFailure(.internalError, "cancelled")
        failure.isCancellation = true
        return failure
    }()
}
