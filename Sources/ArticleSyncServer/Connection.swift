import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore

/// One client's conversation: reads events, feeds them to the state machine, runs its actions.
/// Everything the connection does with the store and the wire happens here and in its extensions.
struct Connection {
    typealias Inbound = NIOAsyncChannelInboundStream<ConnectionEvent>
    typealias Outbound = NIOAsyncChannelOutboundWriter<ServerMessage>

    let channel: any Channel
    let server: ServerContext
    let counters: ConnectionCounters
    let logger: Logger
    private var machine: ConnectionStateMachine
    /// Messages read so far, so that a late idle-deadline request can be told apart (see
    /// `ConnectionEventHandler`).
    private var framesConsumed = 0

    init(channel: any Channel, server: ServerContext, counters: ConnectionCounters, logger: Logger) {
        self.channel = channel
        self.server = server
        self.counters = counters
        self.logger = logger
        let isLoopback = channel.remoteAddress.map(LoopbackAddress.contains) ?? false
        machine = ConnectionStateMachine(configuration: .init(
            features: server.configuration.features,
            maxPushEntries: server.configuration.maxPushEntries,
            isTLS: server.configuration.tlsContext != nil,
            isLoopback: isLoopback))
    }

    /// Runs until the conversation ends. Throws only when the channel fails (the peer went away).
    mutating func run(inbound: Inbound, outbound: Outbound) async throws {
        var events = inbound.makeAsyncIterator()
        var action = ConnectionStateMachine.Action.read
        while true {
            switch action {
            case .read:
                guard let event = try await events.next() else {
                    machine.channelClosed()
                    return
                }
                action = handle(event)

            case .authenticate(let token):
                let request = AuthenticationRequest(
                    token: token, peer: channel.remoteAddress, isEncrypted: server.configuration.tlsContext != nil)
                let decision = await server.configuration.authenticator.authenticate(request)
                action = machine.authenticationFinished(decision)

            case .sendWelcome(let session):
                do {
                    let welcome = try await makeWelcome(session)
                    try await outbound.write(.welcome(welcome))
                    logger.debug("handshake complete", metadata: ["role": "\(session.role)", "features": "\(session.features.rawValue)"])
                    action = machine.responseSent()
                } catch let failure as RequestFailure {
                    action = machine.requestFailed(failure.error)
                }

            case .perform(let request, let session):
                do {
                    try await perform(request, session: session, outbound: outbound)
                    action = machine.responseSent()
                } catch let failure as RequestFailure {
                    action = machine.requestFailed(failure.error)
                }

            case .respond(let message):
                try await outbound.write(message)
                action = machine.responseSent()

            case .armIdleDeadline:
                channel.triggerUserOutboundEvent(ConnectionCommand.armIdleDeadline(framesConsumed: framesConsumed), promise: nil)
                action = server.registry.isShuttingDown ? machine.shutdownRequested() : .read

            case .closeWithError(let error):
                log(closingWith: error)
                await sendFinalError(error)
                return

            case .close:
                return
            }
        }
    }

    private mutating func handle(_ event: ConnectionEvent) -> ConnectionStateMachine.Action {
        switch event {
        case .message(let message):
            framesConsumed += 1
            switch message {
            case .pull, .push, .verify, .getDictionary, .ping: counters.addRequest()
            case .hello, .pong, .error: break
            }
            return machine.received(message)
        case .decodingFailed(let error):
            return machine.decodingFailed(error)
        case .deadlinePassed(let deadline):
            return machine.deadlinePassed(deadline)
        case .shutdownRequested:
            return machine.shutdownRequested()
        }
    }

    private func makeWelcome(_ session: ConnectionStateMachine.Session) async throws(RequestFailure) -> Welcome {
        let snapshot = try await storeCall { try await server.store.snapshot() }
        return Welcome(
            version: session.version, features: session.features, storeID: server.storeID, headRevision: snapshot.head,
            horizon: snapshot.horizon, maxFrameLength: server.configuration.maxFrameLength, role: session.role,
            agent: server.configuration.agent)
    }

    private func perform(_ request: ConnectionStateMachine.Request, session: ConnectionStateMachine.Session, outbound: Outbound) async throws {
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
            try await outbound.write(.dictionary(StoreDictionary(id: id, bytes: ByteBuffer(bytes: bytes))))
        }
    }

    /// Runs a store operation; a failure of the store becomes INTERNAL_ERROR for the client and an
    /// error in the log (with the real reason, which the client does not see).
    func storeCall<T>(_ body: () async throws -> T) async throws(RequestFailure) -> T {
        do {
            return try await body()
        } catch {
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
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ServerMessage.error(error), promise: written)
        let timer = channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        written.futureResult.whenComplete { _ in
            timer.cancel()
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
    }
}

/// A request that ends with an ERROR instead of its normal response.
struct RequestFailure: Error {
    var error: ErrorMessage

    init(_ code: ErrorCode, _ message: String) {
        error = ErrorMessage(code: code, message: message)
    }
}
