import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import Testing

@Suite("connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    static func machine(
        isLoopback: Bool = true, isTLS: Bool = false, features: Features = .all, maxPushEntries: Int = 10_000
    ) -> Machine {
        Machine(configuration: .init(
            features: features, maxFrameLength: 1 << 20, maxPushEntries: maxPushEntries, isTLS: isTLS, isLoopback: isLoopback,
            handshakeTimeout: .seconds(10), idleTimeout: .seconds(120), stallTimeout: .seconds(60)))
    }

    static let hello = Hello(features: .all, agent: "test")

    /// The frame `message` travels in, as the decoder hands it over.
    static func frame(_ message: ClientMessage, compressed: Bool = false) -> Frame {
        var bytes = ByteBuffer()
        message.encode(into: &bytes, compress: compressed)
        return try! FrameDecoder.split(&bytes, rules: .writeSession(maxFrameLength: 1 << 24))!
    }

    /// Delivers `message` as a frame and, when the machine asks for it, as its decoded payload.
    static func receive(_ message: ClientMessage, _ machine: inout Machine) -> Machine.Action {
        let action = machine.frameArrived(frame(message))
        guard case .decode = action else { return action }
        return machine.messageDecoded(message)
    }

    /// A machine that went through HELLO and WELCOME with `role`.
    static func ready(role: Role = .write, token: String = "", maxPushEntries: Int = 10_000) -> Machine {
        var machine = machine(maxPushEntries: maxPushEntries)
        _ = receive(.hello(Hello(features: .all, token: token, agent: "test")), &machine)
        _ = machine.authenticated(.granted(role, tokenName: nil))
        #expect(machine.requestFinished(error: nil) == .read)
        return machine
    }

    static func put(_ id: String) -> PushEntry {
        PushEntry(id: id, expectedRevision: PushEntry.anyRevision, operation: .put(source: .init(string: "x")))
    }

    // MARK: Handshake

    @Test func helloLeadsToAuthenticationThenWelcomeThenReady() {
        var machine = Self.machine()
        #expect(Self.receive(.hello(Hello(features: .all, token: "", agent: "a")), &machine) == .authenticate(token: ""))
        guard case .sendWelcome(let session) = machine.authenticated(.granted(.read, tokenName: nil)) else {
            Issue.record("expected WELCOME")
            return
        }
        #expect(session.version == 1 && session.features == .all && session.role == .read)
        #expect(machine.requestFinished(error: nil) == .read)
        #expect(machine.session?.role == .read)
    }

    @Test func featuresAreTheIntersectionOfClientAndServer() {
        var machine = Self.machine(features: [.delta])
        _ = Self.receive(.hello(Hello(features: Features(rawValue: 0xFF), agent: "a")), &machine)
        guard case .sendWelcome(let session) = machine.authenticated(.granted(.read, tokenName: nil)) else { Issue.record("no WELCOME"); return }
        #expect(session.features == [.delta])
    }

    @Test func aLaterClientIsAnsweredWithVersionOne() {
        var machine = Self.machine()
        #expect(Self.receive(.hello(Hello(minVersion: 1, maxVersion: 7, features: [], agent: "future")), &machine) == .authenticate(token: ""))
        guard case .sendWelcome(let session) = machine.authenticated(.granted(.read, tokenName: nil)) else { Issue.record("no WELCOME"); return }
        #expect(session.version == 1)
    }

    @Test func noCommonVersionNamesTheServersRange() {
        var machine = Self.machine()
        let action = Self.receive(.hello(Hello(minVersion: 2, maxVersion: 3, features: [], agent: "future")), &machine)
        guard case .closeWithError(let error) = action else { Issue.record("expected an error, got \(action)"); return }
        #expect(error.code == .noCommonVersion)
        #expect(error.message.contains("server speaks versions 1-1"))
        #expect(machine.isClosed)
    }

    @Test func anInvertedVersionRangeIsMalformed() {
        var machine = Self.machine()
        #expect(Self.receive(.hello(Hello(minVersion: 3, maxVersion: 2, features: [], agent: "x")), &machine).errorCode == .malformedFrame)
    }

    @Test func aTokenOverPlainTCPFromAnotherHostIsRefusedBeforeAuthentication() {
        var machine = Self.machine(isLoopback: false, isTLS: false)
        #expect(Self.receive(.hello(Hello(features: [], token: "secret", agent: "x")), &machine).errorCode == .tlsRequired)

        var overTLS = Self.machine(isLoopback: false, isTLS: true)
        #expect(Self.receive(.hello(Hello(features: [], token: "secret", agent: "x")), &overTLS) == .authenticate(token: "secret"))

        var onLoopback = Self.machine(isLoopback: true, isTLS: false)
        #expect(Self.receive(.hello(Hello(features: [], token: "secret", agent: "x")), &onLoopback) == .authenticate(token: "secret"))
    }

    @Test func aRefusedAuthenticationClosesWithItsError() {
        var machine = Self.machine()
        _ = Self.receive(.hello(Self.hello), &machine)
        let refusal = ErrorMessage(code: .authFailed, message: "no")
        #expect(machine.authenticated(.refused(refusal)) == .closeWithError(refusal))
        #expect(machine.isClosed)
    }

    @Test func anythingButHelloFirstIsUnexpectedBeforeItsPayloadIsDecoded() {
        for message: ClientMessage in [.ping(nonce: 1), .verify(atRevision: 0), .pong(nonce: 1)] {
            var machine = Self.machine()
            #expect(machine.frameArrived(Self.frame(message)).errorCode == .unexpectedMessage)
        }
    }

    @Test func aFrameDuringAuthenticationIsUnexpected() {
        var machine = Self.machine()
        _ = Self.receive(.hello(Self.hello), &machine)
        #expect(machine.frameArrived(Self.frame(.ping(nonce: 1))).errorCode == .unexpectedMessage)
    }

    @Test func aFrameAfterTheGrantButBeforeWelcomeIsAnsweredAsDuringAuthentication() {
        var machine = Self.machine()
        _ = Self.receive(.hello(Self.hello), &machine)
        _ = machine.authenticated(.granted(.write, tokenName: nil))
        guard case .closeWithError(let error) = machine.frameArrived(Self.frame(.ping(nonce: 1))) else {
            Issue.record("expected a fatal ERROR")
            return
        }
        #expect(error.code == .unexpectedMessage && error.message == "PING sent before WELCOME")
    }

    @Test func aSecondHelloIsUnexpected() {
        var machine = Self.ready()
        #expect(machine.frameArrived(Self.frame(.hello(Self.hello))).errorCode == .unexpectedMessage)
    }

    // MARK: Frame rules in each state

    @Test func beforeWelcomeTheHelloLimitAppliesAndNothingMayBeCompressed() {
        var machine = Self.machine()
        #expect(machine.frameRules == .handshake(refusesTLSRecord: true))
        _ = Self.receive(.hello(Self.hello), &machine)
        #expect(machine.frameRules.maxFrameLength == ProtocolLimits.maxHelloFrameLength)
        #expect(!machine.frameRules.acceptsCompressed)
        #expect(!machine.frameRules.refusesTLSRecord, "only the first byte of the connection can be a TLS record")
        _ = machine.authenticated(.granted(.write, tokenName: nil))
        // Granted, WELCOME on its way: a frame sent this early is judged as during authentication.
        #expect(machine.frameRules == .handshake(refusesTLSRecord: false))
        #expect(machine.requestFinished(error: nil) == .read)
        // WELCOME is out: the session's rules, the limit it announced.
        #expect(machine.frameRules == .writeSession(maxFrameLength: 1 << 20))
    }

    @Test func aTLSServerDoesNotLookForATLSRecordInItsDecryptedStream() {
        let machine = Self.machine(isTLS: true)
        #expect(!machine.frameRules.refusesTLSRecord)
    }

    @Test func aReadConnectionAcceptsOnlyFramesAsSmallAsAHello() {
        var machine = Self.machine()
        _ = Self.receive(.hello(Self.hello), &machine)
        guard case .sendWelcome(let session) = machine.authenticated(.granted(.read, tokenName: nil)) else { Issue.record("no WELCOME"); return }
        #expect(session.frameRules.maxFrameLength == ProtocolLimits.maxHelloFrameLength)
        #expect(session.frameRules.maxInflatedLength == ProtocolLimits.maxHelloFrameLength)
        #expect(session.frameRules.acceptsCompressed)
    }

    @Test func aCompressedRequestIsDecodedWithinTheSessionsInflationLimit() {
        var machine = Self.ready(role: .read)
        let action = machine.frameArrived(Self.frame(.ping(nonce: 3), compressed: true))
        guard case .decode(let frame, let limit) = action else { Issue.record("expected decode, got \(action)"); return }
        #expect(frame.wasCompressed)
        #expect(limit == ProtocolLimits.maxHelloFrameLength)
    }

    // MARK: READY and BUSY

    @Test func pingIsAnsweredWithPongAndTheConnectionReturnsToReady() {
        var machine = Self.ready()
        #expect(Self.receive(.ping(nonce: 9), &machine) == .respond(.pong(nonce: 9)))
        #expect(machine.requestFinished(error: nil) == .read)
        #expect(Self.receive(.ping(nonce: 10), &machine) == .respond(.pong(nonce: 10)))
    }

    @Test func requestsArePerformedWithTheSession() {
        var machine = Self.ready(role: .read)
        let pull = Pull(storeID: .none, sinceRevision: 0, budget: 0, waitMillis: 0, flags: [])
        guard case .perform(.pull(pull), let session) = Self.receive(.pull(pull), &machine) else { Issue.record("not performed"); return }
        #expect(session.role == .read)
    }

    @Test func anyFrameWhileBusyIsUnexpectedAndFatalBeforeItIsDecoded() {
        // §4.1: requests are strictly sequential; a pipelined one is not queued.
        var machine = Self.ready()
        _ = Self.receive(.verify(atRevision: 1), &machine)
        let action = machine.frameArrived(Self.frame(.verify(atRevision: 2), compressed: true))
        #expect(action.errorCode == .unexpectedMessage)
        #expect(machine.isClosed)
    }

    @Test func aPushWithTheReadRoleIsForbiddenBeforeItsPayloadIsDecoded() {
        var machine = Self.ready(role: .read)
        let action = machine.frameArrived(Self.frame(.push(Push(entries: [Self.put("a")]))))
        #expect(action.errorCode == .forbidden)
        #expect(!machine.isClosed)
        #expect(machine.requestFinished(error: nil) == .read)
    }

    @Test func aPushOverTheEntryLimitIsTooLargeButNotFatal() {
        var machine = Self.ready(maxPushEntries: 2)
        let action = Self.receive(.push(Push(entries: [Self.put("a"), Self.put("b"), Self.put("c")])), &machine)
        #expect(action.errorCode == .requestTooLarge)
        #expect(machine.requestFinished(error: nil) == .read)
    }

    @Test func aNonFatalDecodingErrorIsAnsweredAndTheConnectionStays() {
        var machine = Self.ready()
        #expect(machine.frameArrived(Self.frame(.ping(nonce: 1))) != .read)
        let error = ProtocolError(.requestTooLarge, "a PUSH holds 1 to 10000 entries, this one holds 0")
        #expect(machine.decodingFailed(error) == .respond(.error(error.errorMessage)))
        #expect(machine.requestFinished(error: nil) == .read)
    }

    @Test func aFatalDecodingErrorCloses() {
        var machine = Self.ready()
        _ = machine.frameArrived(Self.frame(.ping(nonce: 1)))
        #expect(machine.decodingFailed(ProtocolError(.badCompression, "x")).errorCode == .badCompression)
        #expect(machine.isClosed)
    }

    @Test func aPushWithTheWriteRoleIsPerformed() {
        var machine = Self.ready(role: .write)
        guard case .perform(.push, _) = Self.receive(.push(Push(entries: [Self.put("a")])), &machine) else { Issue.record("not performed"); return }
    }

    @Test func aNonFatalFailureIsTheResponseAndAFatalOneCloses() {
        var machine = Self.ready()
        _ = Self.receive(.getDictionary(id: 1), &machine)
        let unknown = ErrorMessage(code: .unknownDictionary, message: "no")
        #expect(machine.requestFinished(error: unknown) == .respond(.error(unknown)))
        #expect(machine.requestFinished(error: nil) == .read)

        _ = Self.receive(.verify(atRevision: 1), &machine)
        let failure = ErrorMessage(code: .internalError, message: "disk")
        #expect(machine.requestFinished(error: failure) == .closeWithError(failure))
        #expect(machine.isClosed)
    }

    @Test func aFrameTheStateRefusesIsRefusedFromItsHeaderAndOthersWaitForTheirBody() {
        // Before WELCOME only HELLO waits for its body.
        var fresh = Self.machine()
        #expect(fresh.frameAnnounced(.hello) == nil)
        #expect(fresh.frameAnnounced(.ping)?.errorCode == .unexpectedMessage)
        var authenticating = Self.machine()
        _ = Self.receive(.hello(Self.hello), &authenticating)
        #expect(authenticating.frameAnnounced(.pull)?.errorCode == .unexpectedMessage)
        // In READY every request waits for its body, a PUSH on a READ connection too (it is then
        // refused, non-fatally, once it is there); what is never a request is refused at once.
        var ready = Self.ready(role: .read)
        for type in [MessageType.pull, .push, .verify, .getDictionary, .ping] { #expect(ready.frameAnnounced(type) == nil) }
        #expect(ready.frameAnnounced(.hello)?.errorCode == .unexpectedMessage)
        var leaving = Self.ready()
        #expect(leaving.frameAnnounced(.error) == .close(.peerSentError))
        // In BUSY any frame but ERROR is UNEXPECTED_MESSAGE from its header alone.
        var busy = Self.ready()
        _ = Self.receive(.ping(nonce: 1), &busy)
        #expect(busy.frameAnnounced(.verify)?.errorCode == .unexpectedMessage)
        #expect(busy.isClosed)
    }

    @Test func aBrokenFrameRuleIsFatalInEveryState() {
        var fresh = Self.machine()
        #expect(fresh.frameRejected(ProtocolError(.frameTooLarge, "x")).errorCode == .frameTooLarge)
        var ready = Self.ready()
        #expect(ready.frameRejected(ProtocolError(.malformedFrame, "x")).errorCode == .malformedFrame)
        var busy = Self.ready()
        _ = Self.receive(.ping(nonce: 1), &busy)
        #expect(busy.frameRejected(ProtocolError(.unknownMessageType, "x")).errorCode == .unknownMessageType)
    }

    @Test func anErrorOrAPongFromTheClient() {
        // ERROR closes silently in every state; PONG answers nothing the server sent (it never pings).
        var machine = Self.ready()
        #expect(machine.frameArrived(Self.frame(.error(ErrorMessage(code: .internalError, message: "bye")))) == .close(.peerSentError))
        var pong = Self.ready()
        #expect(pong.frameArrived(Self.frame(.pong(nonce: 1))).errorCode == .unexpectedMessage)
    }

    // MARK: Deadlines

    @Test func theHandshakeDeadlineIsArmedAtOnceAndClosesOnlyBeforeHello() throws {
        var machine = Self.machine()
        let handshake = try #require(machine.conversationDeadline)
        #expect(handshake.id.kind == .handshake && handshake.delay == .seconds(10))
        #expect(machine.deadlinePassed(handshake.id).errorCode == .handshakeTimeout)

        var answered = Self.machine()
        let stale = try #require(answered.conversationDeadline).id
        _ = answered.frameArrived(Self.frame(.hello(Self.hello)))
        #expect(answered.conversationDeadline == nil, "a complete HELLO disarms the deadline")
        #expect(answered.deadlinePassed(stale) == .read, "a deadline that lost the race against HELLO is ignored")
    }

    @Test func theIdleDeadlineIsArmedWhenTheResponseIsCompleteAndDisarmedByTheNextFrame() throws {
        var machine = Self.ready()
        let idle = try #require(machine.conversationDeadline)
        #expect(idle.id.kind == .idle && idle.delay == .seconds(120))
        _ = machine.frameArrived(Self.frame(.ping(nonce: 1)))
        #expect(machine.conversationDeadline == nil)
        #expect(machine.deadlinePassed(idle.id) == .read)
        _ = machine.messageDecoded(.ping(nonce: 1))
        #expect(machine.conversationDeadline == nil, "BUSY has no idle deadline")
        _ = machine.requestFinished(error: nil)
        #expect(machine.conversationDeadline?.id.kind == .idle)
        #expect(machine.conversationDeadline?.id != idle.id)
    }

    @Test func theIdleTimeDoesNotRunWhileTheServerHoldsTheRequestBackForItsInputBudget() throws {
        var machine = Self.ready()
        let armed = try #require(machine.conversationDeadline)
        #expect(machine.inputHeldBack(true) == .read)
        #expect(machine.conversationDeadline == nil)
        // A deadline armed before the wait is stale now.
        #expect(machine.deadlinePassed(armed.id) == .read)
        #expect(machine.inputHeldBack(false) == .read)
        let afresh = try #require(machine.conversationDeadline)
        #expect(afresh.id.kind == .idle && afresh.delay == .seconds(120) && afresh.id != armed.id)
        // Outside READY the wait changes nothing: a busy connection has no idle time to pause.
        _ = Self.receive(.ping(nonce: 1), &machine)
        #expect(machine.inputHeldBack(false) == .read)
        #expect(machine.conversationDeadline == nil)
    }

    @Test func theIdleTimeoutWaitsWhileThePeerIsStillReceivingTheLastResponse() throws {
        var machine = Self.ready()
        let idle = try #require(machine.conversationDeadline).id
        #expect(machine.deadlinePassed(idle) == .checkPeerBacklog(idle))
        #expect(machine.peerBacklogChecked(stillReceiving: true, idle) == .read)
        let recheck = try #require(machine.conversationDeadline)
        #expect(recheck.id.kind == .idleRecheck && recheck.delay == .seconds(1))
        #expect(machine.deadlinePassed(recheck.id) == .checkPeerBacklog(recheck.id))
        // The peer has it all now: its idle time starts afresh.
        #expect(machine.peerBacklogChecked(stillReceiving: false, recheck.id) == .read)
        let fresh = try #require(machine.conversationDeadline)
        #expect(fresh.id.kind == .idle && fresh.delay == .seconds(120))
        #expect(machine.deadlinePassed(fresh.id) == .checkPeerBacklog(fresh.id))
        #expect(machine.peerBacklogChecked(stillReceiving: false, fresh.id).errorCode == .idleTimeout)
    }

    @Test func aFrameThatArrivesDuringTheBacklogCheckWins() throws {
        var machine = Self.ready()
        let idle = try #require(machine.conversationDeadline).id
        _ = machine.deadlinePassed(idle)
        _ = Self.receive(.ping(nonce: 1), &machine)
        #expect(machine.peerBacklogChecked(stillReceiving: false, idle) == .read)
        #expect(!machine.isClosed)
    }

    @Test func theStallDeadlineRunsWhileWritesArePendingAndRestartsWithEachCompletion() throws {
        var machine = Self.ready()
        _ = Self.receive(.verify(atRevision: 1), &machine)
        #expect(machine.stallDeadline == nil)
        _ = machine.writesBecamePending()
        let first = try #require(machine.stallDeadline)
        #expect(first.id.kind == .stall && first.delay == .seconds(60))
        _ = machine.writeCompleted(remaining: 1)
        let second = try #require(machine.stallDeadline)
        #expect(second.id != first.id)
        #expect(machine.deadlinePassed(first.id) == .read, "a completion restarted it")
        #expect(machine.deadlinePassed(second.id) == .close(.stalled))
        #expect(machine.isClosed)
    }

    @Test func noStallDeadlineOnceEveryWriteCompleted() {
        var machine = Self.ready()
        _ = machine.writesBecamePending()
        _ = machine.writeCompleted(remaining: 0)
        #expect(machine.stallDeadline == nil)
    }

    // MARK: Credentials and shutdown

    @Test func aRevokedTokenEndsTheConnectionInEveryStateALongPollIncluded() {
        var ready = Self.ready(token: "t")
        #expect(ready.credentialsRevoked().errorCode == .authFailed)

        var polling = Self.ready(token: "t")
        _ = Self.receive(.pull(Pull(storeID: .none, sinceRevision: 0, budget: 0, waitMillis: 60_000, flags: [])), &polling)
        #expect(polling.credentialsRevoked().errorCode == .authFailed)

        var anonymous = Self.ready(token: "")
        #expect(anonymous.credentialsRevoked() == .read, "an anonymous connection holds no token to revoke")
    }

    @Test func shutdownClosesIdleConnectionsAtOnceAndBusyOnesAfterTheirResponse() {
        var idle = Self.ready()
        #expect(idle.shutdownRequested().errorCode == .shuttingDown)

        var busy = Self.ready()
        _ = Self.receive(.verify(atRevision: 1), &busy)
        #expect(busy.shutdownRequested() == .read)
        #expect(busy.requestFinished(error: nil).errorCode == .shuttingDown)

        var handshaking = Self.machine()
        _ = Self.receive(.hello(Self.hello), &handshaking)
        #expect(handshaking.shutdownRequested() == .read)
        #expect(handshaking.authenticated(.granted(.read, tokenName: nil)).errorCode == .shuttingDown)
    }
}

extension ConnectionStateMachine.Action {
    /// The code of the ERROR this action sends, fatal or not.
    var errorCode: ErrorCode? {
        switch self {
        case .closeWithError(let error): return error.code
        case .respond(.error(let error)): return error.code
        default: return nil
        }
    }
}
