import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore

/// One client's conversation: reads events, feeds them to the state machine, runs its actions.
/// Everything the connection does with the store and the wire happens here and in its extensions;
/// every decision about the conversation is the machine's.
///
/// Requests run in a child task, so that the events of the channel (a frame the peer should not
/// have sent, a deadline, a revoked token, the server stopping) reach the machine while a response
/// is being written or a long poll waits.
struct Connection: Sendable {
    typealias Inbound = NIOAsyncChannelInboundStream<ConnectionEvent>

    let channel: any Channel
    let server: ServerContext
    let counters: ConnectionCounters
    let logger: Logger
    let frameRules: FrameRulesBox
    private var machine: ConnectionStateMachine

    init(channel: any Channel, server: ServerContext, counters: ConnectionCounters, frameRules: FrameRulesBox, logger: Logger) {
        self.channel = channel
        self.server = server
        self.counters = counters
        self.frameRules = frameRules
        self.logger = logger
        let configuration = server.configuration
        let isLoopback = channel.remoteAddress.map(LoopbackAddress.contains) ?? false
        machine = ConnectionStateMachine(configuration: .init(
            features: configuration.features, maxFrameLength: configuration.maxFrameLength,
            maxInflatedLength: min(configuration.maxInflatedLength, UInt32(clamping: server.inflation.capacity)),
            maxPushEntries: configuration.maxPushEntries, isTLS: configuration.tlsContext != nil, isLoopback: isLoopback,
            handshakeTimeout: TimeAmount(configuration.handshakeTimeout), idleTimeout: TimeAmount(configuration.idleTimeout),
            stallTimeout: TimeAmount(configuration.stallTimeout)))
    }

    /// Runs until the conversation ends.
    mutating func run(inbound: Inbound) async {
        var timers = Timers()
        var inflationHeld = 0
        defer {
            timers.cancelAll()
            server.inflation.release(inflationHeld)
            inflationHeld = 0
        }
        await withTaskGroup(of: Void.self) { work in
            var events = inbound.makeAsyncIterator()
            var action = ConnectionStateMachine.Action.read
            while true {
                frameRules.current = machine.frameRules
                timers.sync(conversation: machine.conversationDeadline, stall: machine.stallDeadline, on: channel)

                switch action {
                case .read:
                    let event: ConnectionEvent?
                    do {
                        event = try await events.next()
                    } catch {
                        event = nil
                    }
                    guard let event else {
                        machine.channelClosed()
                        work.cancelAll()
                        return
                    }
                    if case .requestFinished = event {
                        server.inflation.release(inflationHeld)
                        inflationHeld = 0
                    }
                    action = handle(event)

                case .decode(let frame, let maxInflatedLength):
                    action = await decode(frame, maxInflatedLength: maxInflatedLength, held: &inflationHeld)

                case .authenticate(let token):
                    let request = AuthenticationRequest(
                        token: token, peer: channel.remoteAddress, isEncrypted: server.configuration.tlsContext != nil)
                    let authenticator = server.configuration.authenticator
                    let channel = self.channel
                    work.addTask {
                        let decision = await authenticator.authenticate(request)
                        Self.deliver(.authenticated(decision), on: channel)
                    }
                    action = .read

                case .sendWelcome(let session):
                    server.registry.granted(channel, token: session.token, role: session.role)
                    let connection = self
                    work.addTask { await connection.respond { try await connection.sendWelcome(session) } }
                    action = .read

                case .perform(let request, let session):
                    counters.addRequest()
                    let connection = self
                    work.addTask { await connection.respond { try await connection.perform(request, session: session) } }
                    action = .read

                case .respond(let message):
                    if case .pong = message { counters.addRequest() }
                    let channel = self.channel
                    channel.writeAndFlush(message).whenComplete { _ in Self.deliver(.requestFinished(error: nil), on: channel) }
                    action = .read

                case .checkPeerBacklog(let id):
                    let channel = self.channel
                    PeerBacklog.check(channel) { stillReceiving in
                        Self.deliver(.peerBacklogChecked(stillReceiving: stillReceiving, id), on: channel)
                    }
                    action = .read

                case .closeWithError(let error):
                    work.cancelAll()
                    log(closingWith: error)
                    await sendFinalError(error)
                    return

                case .close(let reason):
                    work.cancelAll()
                    channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                    if reason == .stalled {
                        logger.warning(
                            "closing a connection whose peer took nothing of the response",
                            metadata: ["seconds": "\(server.configuration.stallTimeout.components.seconds)"])
                    }
                    channel.close(promise: nil)
                    return
                }
            }
        }
    }

    private mutating func handle(_ event: ConnectionEvent) -> ConnectionStateMachine.Action {
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
        }
    }

    /// Inflates (within the server's budget) and decodes a frame the machine accepted. The budget
    /// taken for a PUSH is held until its request finishes, as the push holds the bytes as long.
    private mutating func decode(_ frame: Frame, maxInflatedLength: UInt32, held: inout Int) async -> ConnectionStateMachine.Action {
        var reserved = 0
        if frame.wasCompressed, let claimed = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self),
            claimed <= maxInflatedLength
        {
            reserved = Int(claimed)
            guard await server.inflation.reserve(reserved) else { return .close(.peerClosed) }
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

    private func log(closingWith error: ErrorMessage) {
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
