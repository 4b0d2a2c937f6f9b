import ArticleSyncProtocol

/// The server's view of one conversation (PROTOCOL.md §4.1). Pure: it never touches a channel or the
/// store. The connection turns what happens into events, and runs the returned actions.
public struct ConnectionStateMachine: Sendable {
    /// What the handshake settled.
    public struct Session: Sendable, Hashable {
        public var version: UInt16
        public var features: Features
        public var role: Role
    }

    /// A request the connection performs; it then reports `responseSent()` or `requestFailed(_:)`.
    public enum Request: Sendable, Hashable {
        case pull(Pull)
        case push(Push)
        case verify(atRevision: UInt64)
        case getDictionary(id: UInt32)
    }

    public enum Deadline: Sendable, Hashable {
        case handshake
        case idle
    }

    public enum Action: Sendable, Hashable {
        /// Nothing to do: read the next event.
        case read
        /// Ask the authenticator, then report `authenticationFinished(_:)`.
        case authenticate(token: String)
        /// Send WELCOME for this session (store facts are the connection's), then report `responseSent()`.
        case sendWelcome(Session)
        case perform(Request, Session)
        /// Send this complete response (PONG, a non-fatal ERROR), then report `responseSent()`.
        case respond(ServerMessage)
        /// The connection is READY: arm the idle deadline, read the next event.
        case armIdleDeadline
        /// Send this fatal ERROR, then close.
        case closeWithError(ErrorMessage)
        /// Close without a word (the peer sent a fatal ERROR or went away).
        case close
    }

    enum State: Sendable, Hashable {
        case awaitingHello
        case authenticating(version: UInt16, features: Features)
        case ready(Session)
        case busy(Session)
        case closed
    }

    public struct Configuration: Sendable, Hashable {
        public var supportedVersions: ClosedRange<UInt16>
        public var features: Features
        public var maxPushEntries: Int
        public var isTLS: Bool
        public var isLoopback: Bool

        public init(supportedVersions: ClosedRange<UInt16> = ProtocolLimits.version...ProtocolLimits.version,
                    features: Features = .all, maxPushEntries: Int = Int(ProtocolLimits.maxPushEntries),
                    isTLS: Bool, isLoopback: Bool) {
            self.supportedVersions = supportedVersions
            self.features = features
            self.maxPushEntries = maxPushEntries
            self.isTLS = isTLS
            self.isLoopback = isLoopback
        }
    }

    private(set) var state: State = .awaitingHello
    private var isShuttingDown = false
    private let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The session once the handshake succeeded.
    public var session: Session? {
        switch state {
        case .ready(let session), .busy(let session): return session
        case .awaitingHello, .authenticating, .closed: return nil
        }
    }

    public var isClosed: Bool { state == .closed }

    // MARK: Events

    public mutating func received(_ message: ClientMessage) -> Action {
        switch state {
        case .awaitingHello:
            switch message {
            case .hello(let hello):
                return helloReceived(hello)
            case .error:
                return closeSilently()
            case .pull, .push, .verify, .getDictionary, .ping, .pong:
                return fail(.unexpectedMessage, "expected HELLO as the first message, got \(message.name)")
            }

        case .authenticating:
            if case .error = message { return closeSilently() }
            return fail(.unexpectedMessage, "\(message.name) sent before WELCOME")

        case .ready(let session):
            switch message {
            case .hello:
                return fail(.unexpectedMessage, "HELLO sent twice")
            case .pong:
                return fail(.unexpectedMessage, "PONG sent but the server never sends PING")
            case .error:
                return closeSilently()
            case .ping(let nonce):
                state = .busy(session)
                return .respond(.pong(nonce: nonce))
            case .pull(let pull):
                state = .busy(session)
                return .perform(.pull(pull), session)
            case .verify(let revision):
                state = .busy(session)
                return .perform(.verify(atRevision: revision), session)
            case .getDictionary(let id):
                state = .busy(session)
                return .perform(.getDictionary(id: id), session)
            case .push(let push):
                state = .busy(session)
                guard session.role >= .write else {
                    return .respond(.error(ErrorMessage(code: .forbidden, message: "this connection may only read; PUSH needs the WRITE role")))
                }
                guard (1...configuration.maxPushEntries).contains(push.entries.count) else {
                    return .respond(.error(ErrorMessage(
                        code: .requestTooLarge,
                        message: "a PUSH holds 1 to \(configuration.maxPushEntries) entries, this one holds \(push.entries.count)")))
                }
                return .perform(.push(push), session)
            }

        case .busy:
            if case .error = message { return closeSilently() }
            return fail(.unexpectedMessage, "\(message.name) sent while a request is still being answered")

        case .closed:
            return .close
        }
    }

    public mutating func authenticationFinished(_ decision: AuthenticationDecision) -> Action {
        switch state {
        case .authenticating(let version, let features):
            switch decision {
            case .granted(let role, _):
                if isShuttingDown { return fail(.shuttingDown, "the server is shutting down") }
                let session = Session(version: version, features: features, role: role)
                state = .busy(session)
                return .sendWelcome(session)
            case .refused(let error):
                state = .closed
                return .closeWithError(error)
            }
        case .awaitingHello, .ready, .busy:
            preconditionFailure("authentication finished in state \(state)")
        case .closed:
            return .close
        }
    }

    /// The response to the current request (or WELCOME) is complete on the wire.
    public mutating func responseSent() -> Action {
        switch state {
        case .busy(let session):
            if isShuttingDown { return fail(.shuttingDown, "the server is shutting down") }
            state = .ready(session)
            return .armIdleDeadline
        case .awaitingHello, .authenticating, .ready:
            preconditionFailure("response sent in state \(state)")
        case .closed:
            return .close
        }
    }

    /// The current request failed with `error`: a non-fatal one is the response, a fatal one ends the
    /// connection.
    public mutating func requestFailed(_ error: ErrorMessage) -> Action {
        switch state {
        case .busy:
            if error.isFatal { return fail(error) }
            return .respond(.error(error))
        case .awaitingHello, .authenticating, .ready:
            return fail(error)
        case .closed:
            return .close
        }
    }

    /// The codec could not read the peer's bytes (PROTOCOL.md §3): always fatal.
    public mutating func decodingFailed(_ error: ErrorMessage) -> Action {
        switch state {
        case .awaitingHello, .authenticating, .ready, .busy:
            return fail(error)
        case .closed:
            return .close
        }
    }

    public mutating func deadlinePassed(_ deadline: Deadline) -> Action {
        switch (state, deadline) {
        case (.awaitingHello, .handshake):
            return fail(.handshakeTimeout, "no HELLO arrived within the handshake deadline")
        case (.ready, .idle):
            return fail(.idleTimeout, "no request arrived within the idle timeout")
        case (.closed, _):
            return .close
        case (.awaitingHello, .idle), (.authenticating, _), (.ready, .handshake), (.busy, _):
            // A deadline that lost the race against a frame: the state already moved on.
            return .read
        }
    }

    /// The server is stopping: idle connections end now, a busy one after its response.
    public mutating func shutdownRequested() -> Action {
        isShuttingDown = true
        switch state {
        case .awaitingHello, .ready:
            return fail(.shuttingDown, "the server is shutting down")
        case .authenticating, .busy:
            return .read
        case .closed:
            return .close
        }
    }

    /// The peer closed or the channel failed.
    public mutating func channelClosed() {
        state = .closed
    }

    // MARK: Handshake

    private mutating func helloReceived(_ hello: Hello) -> Action {
        guard hello.minVersion >= 1, hello.minVersion <= hello.maxVersion else {
            return fail(.malformedFrame, "HELLO's version range \(hello.minVersion)-\(hello.maxVersion) is not valid")
        }
        let supported = configuration.supportedVersions
        let lowest = max(hello.minVersion, supported.lowerBound)
        let highest = min(hello.maxVersion, supported.upperBound)
        guard lowest <= highest else {
            return fail(.noCommonVersion, "server speaks versions \(supported.lowerBound)-\(supported.upperBound), the client \(hello.minVersion)-\(hello.maxVersion)")
        }
        if !hello.token.isEmpty, !configuration.isTLS, !configuration.isLoopback {
            return fail(.tlsRequired, "a token must not travel over plain TCP; connect with TLS")
        }
        state = .authenticating(version: highest, features: hello.features.intersection(configuration.features))
        return .authenticate(token: hello.token)
    }

    private mutating func fail(_ code: ErrorCode, _ message: String) -> Action {
        fail(ErrorMessage(code: code, message: message))
    }

    private mutating func fail(_ error: ErrorMessage) -> Action {
        state = .closed
        return .closeWithError(error)
    }

    private mutating func closeSilently() -> Action {
        state = .closed
        return .close
    }
}

extension ClientMessage {
    /// The spec's name of the message, for error texts and logs.
    public var name: String { messageType.name }
}
