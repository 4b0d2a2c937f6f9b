import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore

/// What a client's conversation does with the store and the wire: the work behind the actions of
/// `ConnectionStateMachine`, which `ConnectionHandler` runs on the channel's event loop. Requests run
/// in tasks of their own and report their outcome back to the handler as events, so that what the
/// channel sees meanwhile (a frame the peer should not have sent, a deadline, a revoked token, the
/// server stopping) reaches the machine while a response is being written. An idle connection, or a
/// long poll parked at the known head, runs no task at all.
///
/// A small value: what the request tasks capture.
struct Connection: Sendable {
    let channel: any Channel
    let server: ServerContext
    let counters: ConnectionCounters
    /// The peer's address, as the logs name it.
    let peer: String

    init(channel: any Channel, server: ServerContext, counters: ConnectionCounters, peer: String) {
        self.channel = channel
        self.server = server
        self.counters = counters
        self.peer = peer
    }

    /// The server's logger with this peer's address: made when something is logged, so that a
    /// connection holds no logger metadata of its own.
    var logger: Logger { server.logger.naming(peer: peer) }

    func makeMachine() -> ConnectionStateMachine {
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
    static let smallReads = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 1_024)
    /// Receive buffers of a WRITE connection: a PUSH's reads grow to its size within a few reads.
    static let pushReads = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2_048, maximum: 65_536)

    /// A long poll parked with the notifier, and what the pull needs to go on once the wait ends.
    struct ParkedPull: Sendable {
        var id: Int
        var pull: Pull
        var session: ConnectionStateMachine.Session
    }

    /// Starts the work of an action that does not end the conversation; its outcome comes back as
    /// an event. `spawn` starts a task that the handler cancels if the connection closes first.
    /// Returns the long poll it parked, if it parked one. Writing may re-enter the handler, so this
    /// holds no access to the handler's state.
    func start(_ action: ConnectionStateMachine.Action, spawn: Spawn) -> ParkedPull? {
        let connection = self
        switch action {
        case .authenticate(let token):
            let request = AuthenticationRequest(
                token: token, peer: channel.remoteAddress, isEncrypted: server.configuration.tlsContext != nil)
            let authenticator = server.configuration.authenticator
            let channel = self.channel
            spawn {
                let decision = await authenticator.authenticate(request)
                Self.deliver(.authenticated(decision), on: channel)
            }

        case .sendWelcome(let session):
            server.registry.granted(channel, token: session.token, role: session.role)
            if session.role >= .write {
                channel.setOption(ChannelOptions.recvAllocator, value: Self.pushReads).whenComplete { _ in }
            }
            spawn { await connection.respond { try await connection.sendWelcome(session) } }

        case .perform(let request, let session):
            counters.addRequest()
            if case .pull(let pull) = request, PullDecision.parksAtKnownHead(pull, storeID: server.storeID, knownHead: server.notifier.head),
                let parked = park(pull, session: session)
            {
                return parked
            }
            spawn { await connection.respond { try await connection.perform(request, session: session) } }

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
            // The handler itself does these.
            break
        }
        return nil
    }

    typealias Spawn = (_ body: @escaping @Sendable () async -> Void) -> Void

    /// Goes on with a pull whose long poll ended without the tail broadcaster's answer: it reads on
    /// its own (the head moved), or completes with CAUGHT_UP (the wait ended, the server stops).
    func resumePull(_ waiting: ParkedPull, after outcome: RevisionNotifier.Outcome, spawn: Spawn) {
        switch outcome {
        case .answered, .cancelled:
            // Answered: the broadcaster wrote the response and reports its end.
            return
        case .advanced, .timedOut, .shuttingDown:
            let connection = self
            spawn { await connection.respond { try await connection.finishParkedPull(waiting.pull, session: waiting.session) } }
        }
    }

    /// The machine's transition for an event that is not the handler's own bookkeeping.
    static func handle(_ event: ConnectionEvent, machine: inout ConnectionStateMachine) -> ConnectionStateMachine.Action {
        switch event {
        case .authenticated(let decision): return machine.authenticated(decision)
        case .requestFinished(let error): return machine.requestFinished(error: error)
        case .writesPending: return machine.writesBecamePending()
        case .writeCompleted(let remaining): return machine.writeCompleted(remaining: remaining)
        case .deadlinePassed(let id): return machine.deadlinePassed(id)
        case .peerBacklogChecked(let stillReceiving, let id): return machine.peerBacklogChecked(stillReceiving: stillReceiving, id)
        case .credentialsRevoked: return machine.credentialsRevoked()
        case .shutdownRequested: return machine.shutdownRequested()
        case .frameDecoded(let decoded, _):
            switch decoded {
            case .success(let message): return machine.messageDecoded(message)
            case .failure(let error): return machine.decodingFailed(error)
            }
        case .longPollEnded:
            // The connection's own: how a request is performed, not a rule of the conversation.
            return .read
        }
    }

    /// Inflates (within the server's budget) and decodes a compressed frame the machine accepted;
    /// nil when the peer went away while the frame waited for the budget. The bytes reserved are
    /// the caller's to give back.
    func decodeCompressed(_ frame: Frame, maxInflatedLength: UInt32) async -> ConnectionEvent? {
        var reserved = 0
        if let claimed = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self), claimed <= maxInflatedLength {
            reserved = Int(claimed)
            guard await server.inflation.reserve(reserved, abandonedWhen: channel.closeFuture) else { return nil }
        }
        return .frameDecoded(Self.decode(frame, maxInflatedLength: maxInflatedLength), reserved: reserved)
    }

    static func decode(_ frame: Frame, maxInflatedLength: UInt32) -> Result<ClientMessage, ProtocolError> {
        Result { () throws(ProtocolError) -> ClientMessage in
            try ClientMessage(frame: try frame.inflated(maxInflatedLength: maxInflatedLength))
        }
    }

    /// Runs one response in a task of its own. Its last message reports the end itself
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

    func log(closingWith error: ErrorMessage) {
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

    /// Sends a fatal ERROR and closes once it reached the socket, but never later than a second from
    /// now: a peer that reads nothing does not hold us.
    func sendFinalError(_ error: ErrorMessage) {
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
    }

    /// Hands `event` to the conversation through its channel, in order with the frames.
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
