import ArticleSyncProtocol
import NIOCore

/// The server's view of one conversation (PROTOCOL.md §4), and every rule of it: which frames each
/// state accepts and under which frame rules, the HELLO rules, BUSY, the handshake, idle and stall
/// deadlines, revoked credentials, shutdown.
///
/// Pure: it never touches a channel, a clock or the store. The connection turns what happens into
/// calls, runs the returned action, keeps `frameRules` in force on its decoder and the deadlines
/// (`conversationDeadline`, `stallDeadline`) scheduled; a deadline that passes comes back as an event
/// with its id, so one that lost a race against a frame is recognised and ignored here.
public struct ConnectionStateMachine: Sendable {
    /// What the handshake settled.
    public struct Session: Sendable, Hashable {
        public var version: UInt16
        public var features: Features
        public var role: Role
        /// HELLO's token; empty for an anonymous connection.
        public var token: String
        /// The frame rules of this connection from WELCOME on; WELCOME announces their frame limit.
        public var frameRules: FrameRules
    }

    /// A request the connection performs; it then reports `requestFinished(error:)`.
    public enum Request: Sendable, Hashable {
        case pull(Pull)
        case push(Push)
        case verify(atRevision: UInt64)
        case getDictionary(id: UInt32)
    }

    public enum DeadlineKind: Sendable, Hashable {
        /// HELLO must arrive complete within the handshake timeout of the accept.
        case handshake
        /// In READY the next request must arrive complete within the idle timeout.
        case idle
        /// The idle timeout passed while the kernel still held bytes of the last response that the
        /// peer had not acknowledged: the idle time starts only once the peer has them.
        case idleRecheck
        /// Writes are pending and none completed for the stall timeout.
        case stall
    }

    /// Names one arming of a deadline, so that a deadline that passes after it was disarmed or
    /// re-armed is told apart.
    public struct DeadlineID: Sendable, Hashable {
        public var kind: DeadlineKind
        public var generation: UInt64
    }

    public struct Deadline: Sendable, Hashable {
        public var id: DeadlineID
        public var delay: TimeAmount
    }

    public enum Action: Sendable, Hashable {
        /// Nothing to do: read the next event.
        case read
        /// Inflate the frame (within `maxInflatedLength`) and decode its layout, then report
        /// `messageDecoded(_:)` or `decodingFailed(_:)`.
        case decode(Frame, maxInflatedLength: UInt32)
        /// Ask the authenticator, then report `authenticated(_:)`.
        case authenticate(token: String)
        /// Send WELCOME for this session (store facts are the connection's), then report `requestFinished`.
        case sendWelcome(Session)
        case perform(Request, Session)
        /// Send this complete response (PONG, a non-fatal ERROR), then report `requestFinished`.
        case respond(ServerMessage)
        /// Ask the kernel whether the peer is still receiving the last response, then report
        /// `peerBacklogChecked`.
        case checkPeerBacklog(DeadlineID)
        /// Send this fatal ERROR, then close.
        case closeWithError(ErrorMessage)
        /// Close without a word: the peer sent ERROR, went away, or takes nothing of what it is sent.
        case close(CloseReason)
    }

    public enum CloseReason: Sendable, Hashable {
        case peerClosed
        case peerSentError
        /// No pending write completed for the stall timeout (§4.3).
        case stalled
    }

    enum State: Sendable, Hashable {
        case awaitingHello
        case authenticating(version: UInt16, features: Features, token: String)
        case ready(Session)
        case busy(Session)
        case closed
    }

    public struct Configuration: Sendable, Hashable {
        public var supportedVersions: ClosedRange<UInt16>
        public var features: Features
        public var maxFrameLength: UInt32
        public var maxInflatedLength: UInt32
        public var maxPushEntries: Int
        public var isTLS: Bool
        public var isLoopback: Bool
        public var handshakeTimeout: TimeAmount
        public var idleTimeout: TimeAmount
        public var stallTimeout: TimeAmount

        public init(
            supportedVersions: ClosedRange<UInt16> = ProtocolLimits.version...ProtocolLimits.version,
            features: Features = .all, maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength,
            maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength,
            maxPushEntries: Int = Int(ProtocolLimits.maxPushEntries), isTLS: Bool, isLoopback: Bool,
            handshakeTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(120),
            stallTimeout: TimeAmount = .seconds(120)
        ) {
            self.supportedVersions = supportedVersions
            self.features = features
            self.maxFrameLength = maxFrameLength
            self.maxInflatedLength = maxInflatedLength
            self.maxPushEntries = maxPushEntries
            self.isTLS = isTLS
            self.isLoopback = isLoopback
            self.handshakeTimeout = handshakeTimeout
            self.idleTimeout = idleTimeout
            self.stallTimeout = stallTimeout
        }
    }

    private(set) var state: State = .awaitingHello
    /// The handshake or idle deadline in force, if any.
    public private(set) var conversationDeadline: Deadline?
    /// Armed while writes are pending; re-armed whenever one completes.
    public private(set) var stallDeadline: Deadline?
    private var pendingBacklogCheck: DeadlineID?
    /// WELCOME has reached the socket: the session's frame rules are in force.
    private var welcomed = false
    private var writesPending = false
    private var isShuttingDown = false
    private var generation: UInt64 = 0
    private let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
        conversationDeadline = arm(.handshake, after: configuration.handshakeTimeout)
    }

    /// The session once the handshake succeeded.
    public var session: Session? {
        switch state {
        case .ready(let session), .busy(let session): return session
        case .awaitingHello, .authenticating, .closed: return nil
        }
    }

    public var isClosed: Bool { state == .closed }

    /// The frame rules the decoder applies to the next frame (§4.1, §9).
    public var frameRules: FrameRules {
        switch state {
        case .awaitingHello:
            return .handshake(refusesTLSRecord: !configuration.isTLS)
        case .authenticating, .closed:
            return .handshake(refusesTLSRecord: false)
        case .busy where !welcomed:
            // §3: nothing compressed, nothing over the HELLO limit, until WELCOME is out; a frame
            // sent that early is judged as it would be during authentication, whatever the timing.
            return .handshake(refusesTLSRecord: false)
        case .ready(let session), .busy(let session):
            return session.frameRules
        }
    }

    // MARK: What the peer sent

    /// A frame's header arrived (its length, flags and type passed §3's checks 0-3). The state
    /// and direction (check 4) depend on the type alone, so a frame the state refuses is refused
    /// here, before its body is awaited or buffered: nil means wait for the whole frame
    /// (`frameArrived`), which judges it again. The refusals are `frameArrived`'s own, which look
    /// at the type alone, never at the (here empty) payload.
    public mutating func frameAnnounced(_ type: MessageType) -> Action? {
        switch state {
        case .awaitingHello:
            return type == .hello ? nil : frameArrived(Frame(type: type, flags: [], payload: ByteBuffer()))
        case .ready:
            switch type {
            case .push, .pull, .verify, .getDictionary, .ping:
                // Requests wait for their body; a PUSH on a READ connection is refused (non-fatal)
                // once it is there, so that the stream stays in step.
                return nil
            case .hello, .pong, .error, .welcome, .batch, .caughtUp, .snapshotRequired, .pushResult, .verifyResult, .dictionary:
                return frameArrived(Frame(type: type, flags: [], payload: ByteBuffer()))
            }
        case .authenticating, .busy, .closed:
            return frameArrived(Frame(type: type, flags: [], payload: ByteBuffer()))
        }
    }

    /// A whole frame arrived. Its type is judged against the state before anything of its payload
    /// is inflated or decoded.
    public mutating func frameArrived(_ frame: Frame) -> Action {
        switch state {
        case .awaitingHello:
            switch frame.type {
            case .hello:
                conversationDeadline = nil
                return .decode(frame, maxInflatedLength: 0)
            case .error:
                return closeSilently(.peerSentError)
            case .pull, .push, .verify, .getDictionary, .ping, .pong, .welcome, .batch, .caughtUp, .snapshotRequired,
                .pushResult, .verifyResult, .dictionary:
                return fail(.unexpectedMessage, "expected HELLO as the first message, got \(frame.type.name)")
            }

        case .authenticating:
            if frame.type == .error { return closeSilently(.peerSentError) }
            return fail(.unexpectedMessage, "\(frame.type.name) sent before WELCOME")

        case .ready(let session):
            switch frame.type {
            case .hello:
                return fail(.unexpectedMessage, "HELLO sent twice")
            case .pong:
                return fail(.unexpectedMessage, "PONG sent but the server never sends PING")
            case .error:
                return closeSilently(.peerSentError)
            case .welcome, .batch, .caughtUp, .snapshotRequired, .pushResult, .verifyResult, .dictionary:
                return fail(.unexpectedMessage, "\(frame.type.name) is sent by servers, not clients")
            case .push where session.role < .write:
                // Refused before its payload is inflated or decoded.
                enterBusy(session)
                return .respond(.error(ErrorMessage(code: .forbidden, message: "this connection may only read; PUSH needs the WRITE role")))
            case .push, .pull, .verify, .getDictionary, .ping:
                disarmIdle()
                return .decode(frame, maxInflatedLength: session.frameRules.maxInflatedLength)
            }

        case .busy:
            if frame.type == .error { return closeSilently(.peerSentError) }
            guard welcomed else { return fail(.unexpectedMessage, "\(frame.type.name) sent before WELCOME") }
            return fail(.unexpectedMessage, "\(frame.type.name) sent while a request is still being answered; requests are strictly sequential")

        case .closed:
            return .close(.peerClosed)
        }
    }

    /// The bytes broke a frame rule (§3): always fatal.
    public mutating func frameRejected(_ error: ProtocolError) -> Action {
        switch state {
        case .awaitingHello, .authenticating, .ready, .busy:
            return fail(error.errorMessage)
        case .closed:
            return .close(.peerClosed)
        }
    }

    /// The payload of the frame handed out with `.decode` decoded to `message`.
    public mutating func messageDecoded(_ message: ClientMessage) -> Action {
        switch state {
        case .awaitingHello:
            guard case .hello(let hello) = message else {
                return fail(.unexpectedMessage, "expected HELLO as the first message, got \(message.name)")
            }
            return helloReceived(hello)

        case .ready(let session):
            enterBusy(session)
            switch message {
            case .ping(let nonce):
                return .respond(.pong(nonce: nonce))
            case .pull(let pull):
                return .perform(.pull(pull), session)
            case .verify(let revision):
                return .perform(.verify(atRevision: revision), session)
            case .getDictionary(let id):
                return .perform(.getDictionary(id: id), session)
            case .push(let push):
                guard push.entries.count <= configuration.maxPushEntries else {
                    return .respond(.error(ErrorMessage(
                        code: .requestTooLarge,
                        message: "a PUSH holds 1 to \(configuration.maxPushEntries) entries, this one holds \(push.entries.count)")))
                }
                return .perform(.push(push), session)
            case .hello, .pong, .error:
                return fail(.unexpectedMessage, "\(message.name) is not a request")
            }

        case .authenticating, .busy:
            return fail(.internalError, "a message was decoded in a state that takes none")
        case .closed:
            return .close(.peerClosed)
        }
    }

    /// The payload of the frame handed out with `.decode` could not be inflated or decoded. Only a
    /// request whose layout is sound but whose size is refused (REQUEST_TOO_LARGE) is not fatal.
    public mutating func decodingFailed(_ error: ProtocolError) -> Action {
        switch state {
        case .ready(let session) where !error.isFatal:
            enterBusy(session)
            return .respond(.error(error.errorMessage))
        case .awaitingHello, .authenticating, .ready, .busy:
            return fail(error.errorMessage)
        case .closed:
            return .close(.peerClosed)
        }
    }

    // MARK: What the connection's own work reports

    public mutating func authenticated(_ decision: AuthenticationDecision) -> Action {
        switch state {
        case .authenticating(let version, let features, let token):
            switch decision {
            case .granted(let role, _):
                if isShuttingDown { return fail(.shuttingDown, "the server is shutting down") }
                let rules: FrameRules = role >= .write
                    ? .writeSession(maxFrameLength: configuration.maxFrameLength, maxInflatedLength: configuration.maxInflatedLength)
                    : FrameRules(
                        maxFrameLength: min(configuration.maxFrameLength, FrameRules.readSession.maxFrameLength),
                        maxInflatedLength: FrameRules.readSession.maxInflatedLength, acceptsCompressed: true)
                let session = Session(version: version, features: features, role: role, token: token, frameRules: rules)
                enterBusy(session)
                return .sendWelcome(session)
            case .refused(let error):
                return fail(error)
            }
        case .awaitingHello, .ready, .busy:
            return fail(.internalError, "an authentication finished that was never asked for")
        case .closed:
            return .close(.peerClosed)
        }
    }

    /// The current response (or WELCOME) reached the socket in full, or the request failed with
    /// `error`: a non-fatal one is then the response, a fatal one ends the connection.
    public mutating func requestFinished(error: ErrorMessage?) -> Action {
        switch state {
        case .busy(let session):
            if let error {
                return error.isFatal ? fail(error) : .respond(.error(error))
            }
            welcomed = true
            if isShuttingDown { return fail(.shuttingDown, "the server is shutting down") }
            state = .ready(session)
            conversationDeadline = arm(.idle, after: configuration.idleTimeout)
            return .read
        case .awaitingHello, .authenticating, .ready:
            return fail(.internalError, "a response finished that was never started")
        case .closed:
            return .close(.peerClosed)
        }
    }

    public mutating func writesBecamePending() -> Action {
        writesPending = true
        stallDeadline = arm(.stall, after: configuration.stallTimeout)
        return .read
    }

    public mutating func writeCompleted(remaining: Int) -> Action {
        if remaining > 0 {
            stallDeadline = arm(.stall, after: configuration.stallTimeout)
        } else {
            writesPending = false
            stallDeadline = nil
        }
        return .read
    }

    // MARK: Time

    public mutating func deadlinePassed(_ id: DeadlineID) -> Action {
        if id == stallDeadline?.id {
            stallDeadline = nil
            guard writesPending, !isClosed else { return .read }
            state = .closed
            return .close(.stalled)
        }
        guard id == conversationDeadline?.id else { return .read }
        conversationDeadline = nil
        switch (state, id.kind) {
        case (.awaitingHello, .handshake):
            return fail(.handshakeTimeout, "no HELLO arrived within the handshake deadline")
        case (.ready, .idle), (.ready, .idleRecheck):
            pendingBacklogCheck = id
            return .checkPeerBacklog(id)
        case (.closed, _):
            return .close(.peerClosed)
        case (.awaitingHello, _), (.authenticating, _), (.ready, _), (.busy, _):
            return .read
        }
    }

    /// The kernel's answer to `.checkPeerBacklog(id)`. While the peer is still receiving the last
    /// response its idle time has not begun: look again after a fraction of the timeout. Once it has
    /// everything, the idle deadline has passed, or, after such a wait, starts afresh.
    public mutating func peerBacklogChecked(stillReceiving: Bool, _ id: DeadlineID) -> Action {
        guard id == pendingBacklogCheck, case .ready = state else { return .read }
        pendingBacklogCheck = nil
        if stillReceiving {
            let interval: TimeAmount = max(.milliseconds(10), min(.seconds(1), .nanoseconds(configuration.idleTimeout.nanoseconds / 4)))
            conversationDeadline = arm(.idleRecheck, after: interval)
            return .read
        }
        if id.kind == .idleRecheck {
            conversationDeadline = arm(.idle, after: configuration.idleTimeout)
            return .read
        }
        return fail(.idleTimeout, "no request arrived within the idle timeout")
    }

    /// The connection stopped reading to wait for room in the server's input budget (`waiting`), or
    /// reads again. In READY the idle time is the peer's: it does not run while the server holds the
    /// peer's request back, and starts afresh when it reads again (§4.3).
    public mutating func inputHeldBack(_ waiting: Bool) -> Action {
        guard case .ready = state else { return .read }
        if waiting {
            disarmIdle()
        } else if conversationDeadline == nil {
            conversationDeadline = arm(.idle, after: configuration.idleTimeout)
        }
        return .read
    }

    // MARK: The server

    /// The token this connection holds was revoked or removed: it ends now, a long poll included.
    public mutating func credentialsRevoked() -> Action {
        switch state {
        case .authenticating(_, _, let token) where !token.isEmpty:
            return fail(.authFailed, "the access token was revoked")
        case .ready(let session) where !session.token.isEmpty, .busy(let session) where !session.token.isEmpty:
            return fail(.authFailed, "the access token of this connection was revoked")
        case .awaitingHello, .authenticating, .ready, .busy:
            return .read
        case .closed:
            return .close(.peerClosed)
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
            return .close(.peerClosed)
        }
    }

    /// The peer closed or the channel failed.
    public mutating func channelClosed() {
        state = .closed
        conversationDeadline = nil
        stallDeadline = nil
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
        if isShuttingDown { return fail(.shuttingDown, "the server is shutting down") }
        state = .authenticating(version: highest, features: hello.features.intersection(configuration.features), token: hello.token)
        return .authenticate(token: hello.token)
    }

    // MARK: Helpers

    private mutating func enterBusy(_ session: Session) {
        state = .busy(session)
        disarmIdle()
    }

    private mutating func disarmIdle() {
        conversationDeadline = nil
        pendingBacklogCheck = nil
    }

    private mutating func arm(_ kind: DeadlineKind, after delay: TimeAmount) -> Deadline {
        generation += 1
        return Deadline(id: DeadlineID(kind: kind, generation: generation), delay: delay)
    }

    private mutating func fail(_ code: ErrorCode, _ message: String) -> Action {
        fail(ErrorMessage(code: code, message: message))
    }

    private mutating func fail(_ error: ErrorMessage) -> Action {
        channelClosed()
        return .closeWithError(error)
    }

    private mutating func closeSilently(_ reason: CloseReason) -> Action {
        channelClosed()
        return .close(reason)
    }
}

extension ClientMessage {
    /// The spec's name of the message, for error texts and logs.
    public var name: String { messageType.name }
}
