import ArticleSyncProtocol
@testable import ArticleSyncServer
import Testing

@Suite("connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    static func machine(isLoopback: Bool = true, isTLS: Bool = false, features: Features = .all, maxPushEntries: Int = 10_000) -> Machine {
        Machine(configuration: .init(features: features, maxPushEntries: maxPushEntries, isTLS: isTLS, isLoopback: isLoopback))
    }

    static let hello = Hello(features: .all, agent: "test")

    /// A machine that went through HELLO and WELCOME with `role`.
    static func ready(role: Role = .write, maxPushEntries: Int = 10_000) -> Machine {
        var machine = machine(maxPushEntries: maxPushEntries)
        _ = machine.received(.hello(hello))
        _ = machine.authenticationFinished(.granted(role, tokenName: nil))
        #expect(machine.responseSent() == .armIdleDeadline)
        return machine
    }

    static func put(_ id: String) -> PushEntry {
        PushEntry(id: id, expectedRevision: PushEntry.anyRevision, operation: .put(source: .init(string: "x")))
    }

    @Test func helloLeadsToAuthenticationThenWelcomeThenReady() {
        var machine = Self.machine()
        #expect(machine.received(.hello(Hello(features: .all, token: "", agent: "a"))) == .authenticate(token: ""))
        let action = machine.authenticationFinished(.granted(.read, tokenName: nil))
        #expect(action == .sendWelcome(.init(version: 1, features: .all, role: .read)))
        #expect(machine.responseSent() == .armIdleDeadline)
        #expect(machine.session?.role == .read)
    }

    @Test func featuresAreTheIntersectionOfClientAndServer() {
        var machine = Self.machine(features: [.delta])
        _ = machine.received(.hello(Hello(features: Features(rawValue: 0xFF), agent: "a")))
        #expect(machine.authenticationFinished(.granted(.read, tokenName: nil)) == .sendWelcome(.init(version: 1, features: [.delta], role: .read)))
    }

    @Test func aLaterClientIsAnsweredWithVersionOne() {
        var machine = Self.machine()
        #expect(machine.received(.hello(Hello(minVersion: 1, maxVersion: 7, features: [], agent: "future"))) == .authenticate(token: ""))
        #expect(machine.authenticationFinished(.granted(.read, tokenName: nil)) == .sendWelcome(.init(version: 1, features: [], role: .read)))
    }

    @Test func noCommonVersionNamesTheServersRange() {
        var machine = Self.machine()
        let action = machine.received(.hello(Hello(minVersion: 2, maxVersion: 3, features: [], agent: "future")))
        guard case .closeWithError(let error) = action else { Issue.record("expected an error, got \(action)"); return }
        #expect(error.code == .noCommonVersion)
        #expect(error.message.contains("server speaks versions 1-1"))
        #expect(machine.isClosed)
    }

    @Test func anInvertedVersionRangeIsMalformed() {
        var machine = Self.machine()
        let action = machine.received(.hello(Hello(minVersion: 3, maxVersion: 2, features: [], agent: "x")))
        #expect(action.errorCode == .malformedFrame)
    }

    @Test func aTokenOverPlainTCPFromAnotherHostIsRefusedBeforeAuthentication() {
        var machine = Self.machine(isLoopback: false, isTLS: false)
        #expect(machine.received(.hello(Hello(features: [], token: "secret", agent: "x"))).errorCode == .tlsRequired)

        var overTLS = Self.machine(isLoopback: false, isTLS: true)
        #expect(overTLS.received(.hello(Hello(features: [], token: "secret", agent: "x"))) == .authenticate(token: "secret"))

        var onLoopback = Self.machine(isLoopback: true, isTLS: false)
        #expect(onLoopback.received(.hello(Hello(features: [], token: "secret", agent: "x"))) == .authenticate(token: "secret"))
    }

    @Test func aRefusedAuthenticationClosesWithItsError() {
        var machine = Self.machine()
        _ = machine.received(.hello(Self.hello))
        let refusal = ErrorMessage(code: .authFailed, message: "no")
        #expect(machine.authenticationFinished(.refused(refusal)) == .closeWithError(refusal))
        #expect(machine.isClosed)
    }

    @Test func anythingButHelloFirstIsUnexpected() {
        for message in [ClientMessage.pull(Pull(storeID: .none, sinceRevision: 0)), .ping(nonce: 1), .verify(atRevision: 0), .pong(nonce: 1)] {
            var machine = Self.machine()
            #expect(machine.received(message).errorCode == .unexpectedMessage, "\(message.name)")
        }
    }

    @Test func aSecondHelloIsUnexpected() {
        var machine = Self.ready()
        #expect(machine.received(.hello(Self.hello)).errorCode == .unexpectedMessage)
    }

    @Test func pingIsAnsweredWithPongAndTheConnectionReturnsToReady() {
        var machine = Self.ready()
        #expect(machine.received(.ping(nonce: 42)) == .respond(.pong(nonce: 42)))
        #expect(machine.responseSent() == .armIdleDeadline)
    }

    @Test func requestsArePerformedWithTheSession() {
        var machine = Self.ready(role: .read)
        let pull = Pull(storeID: .none, sinceRevision: 0)
        guard case .perform(.pull(pull), let session) = machine.received(.pull(pull)) else { Issue.record("pull not performed"); return }
        #expect(session.role == .read)
    }

    @Test func aRequestWhileBusyIsUnexpected() {
        var machine = Self.ready()
        _ = machine.received(.pull(Pull(storeID: .none, sinceRevision: 0)))
        #expect(machine.received(.ping(nonce: 1)).errorCode == .unexpectedMessage)
    }

    @Test func aPushWithTheReadRoleIsForbiddenButTheConnectionStays() {
        var machine = Self.ready(role: .read)
        let action = machine.received(.push(Push(entries: [Self.put("a")])))
        guard case .respond(.error(let error)) = action else { Issue.record("expected FORBIDDEN, got \(action)"); return }
        #expect(error.code == .forbidden)
        #expect(machine.responseSent() == .armIdleDeadline)
        #expect(!machine.isClosed)
    }

    @Test func aPushOverTheEntryLimitIsTooLargeButNotFatal() {
        var machine = Self.ready(role: .write, maxPushEntries: 2)
        let action = machine.received(.push(Push(entries: [Self.put("a"), Self.put("b"), Self.put("c")])))
        guard case .respond(.error(let error)) = action else { Issue.record("expected REQUEST_TOO_LARGE, got \(action)"); return }
        #expect(error.code == .requestTooLarge)
        #expect(machine.responseSent() == .armIdleDeadline)
    }

    @Test func aPushWithTheWriteRoleIsPerformed() {
        var machine = Self.ready(role: .write)
        guard case .perform(.push, _) = machine.received(.push(Push(entries: [Self.put("a")]))) else { Issue.record("push not performed"); return }
    }

    @Test func aNonFatalFailureIsTheResponseAndAFatalOneCloses() {
        var machine = Self.ready()
        _ = machine.received(.getDictionary(id: 9))
        let unknown = ErrorMessage(code: .unknownDictionary, message: "no")
        #expect(machine.requestFailed(unknown) == .respond(.error(unknown)))
        #expect(machine.responseSent() == .armIdleDeadline)

        _ = machine.received(.verify(atRevision: 1))
        let broken = ErrorMessage(code: .internalError, message: "disk")
        #expect(machine.requestFailed(broken) == .closeWithError(broken))
        #expect(machine.isClosed)
    }

    @Test func theHandshakeDeadlineClosesOnlyBeforeHello() {
        var waiting = Self.machine()
        #expect(waiting.deadlinePassed(.handshake).errorCode == .handshakeTimeout)

        var ready = Self.ready()
        #expect(ready.deadlinePassed(.handshake) == .read)
    }

    @Test func theIdleDeadlineClosesOnlyWhenReady() {
        var ready = Self.ready()
        #expect(ready.deadlinePassed(.idle).errorCode == .idleTimeout)

        // Time in BUSY (a long poll) does not count.
        var busy = Self.ready()
        _ = busy.received(.pull(Pull(storeID: .none, sinceRevision: 0, waitMillis: 1000)))
        #expect(busy.deadlinePassed(.idle) == .read)
    }

    @Test func aDecodingErrorIsFatalInEveryState() {
        let error = ErrorMessage(code: .frameTooLarge, message: "big")
        var fresh = Self.machine()
        #expect(fresh.decodingFailed(error) == .closeWithError(error))
        var ready = Self.ready()
        #expect(ready.decodingFailed(error) == .closeWithError(error))
    }

    @Test func shutdownClosesIdleConnectionsAtOnceAndBusyOnesAfterTheirResponse() {
        var idle = Self.ready()
        #expect(idle.shutdownRequested().errorCode == .shuttingDown)

        var busy = Self.ready()
        _ = busy.received(.pull(Pull(storeID: .none, sinceRevision: 0)))
        #expect(busy.shutdownRequested() == .read)
        #expect(busy.responseSent().errorCode == .shuttingDown)
    }

    @Test func anErrorFromTheClientClosesSilently() {
        var machine = Self.ready()
        #expect(machine.received(.error(ErrorMessage(code: .malformedFrame, message: "x"))) == .close)
        #expect(machine.isClosed)
    }
}

extension ConnectionStateMachine.Action {
    var errorCode: ErrorCode? {
        if case .closeWithError(let error) = self { return error.code }
        return nil
    }
}
