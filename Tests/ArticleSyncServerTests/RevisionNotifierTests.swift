@testable import ArticleSyncServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite("revision notifier")
struct RevisionNotifierTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    @Test func aWaiterWakesWhenTheHeadPassesItsRevision() async {
        let notifier = RevisionNotifier(head: 5)
        async let outcome = notifier.wait(forRevisionAbove: 5, timeout: .seconds(30), on: loop)
        await waitUntil { notifier.waitingCount == 1 }
        notifier.publish(head: 5)  // not above: still waiting
        #expect(notifier.waitingCount == 1)
        notifier.publish(head: 6)
        #expect(await outcome == .advanced(head: 6))
        #expect(notifier.waitingCount == 0)
    }

    @Test func aWaiterBehindTheHeadReturnsAtOnce() async {
        let notifier = RevisionNotifier(head: 9)
        #expect(await notifier.wait(forRevisionAbove: 3, timeout: .seconds(30), on: loop) == .advanced(head: 9))
    }

    @Test func aWaitEndsWhenItsTimeIsUp() async {
        let notifier = RevisionNotifier(head: 1)
        #expect(await notifier.wait(forRevisionAbove: 1, timeout: .milliseconds(20), on: loop) == .timedOut)
        #expect(notifier.waitingCount == 0)
    }

    @Test func cancellingTheWaitingTaskEndsItsWait() async {
        let notifier = RevisionNotifier(head: 1)
        let task = Task { await notifier.wait(forRevisionAbove: 1, timeout: .seconds(30), on: loop) }
        await waitUntil { notifier.waitingCount == 1 }
        task.cancel()
        #expect(await task.value == .cancelled)
    }

    @Test func shutdownWakesEveryWaiterAndRefusesNewOnes() async {
        let notifier = RevisionNotifier(head: 1)
        async let first = notifier.wait(forRevisionAbove: 1, timeout: .seconds(30), on: loop)
        async let second = notifier.wait(forRevisionAbove: 1, timeout: .seconds(30), on: loop)
        await waitUntil { notifier.waitingCount == 2 }
        notifier.shutDown()
        #expect(await first == .shuttingDown)
        #expect(await second == .shuttingDown)
        #expect(await notifier.wait(forRevisionAbove: 1, timeout: .seconds(30), on: loop) == .shuttingDown)
    }

    /// A connection parks a long poll after it saw the cursor at the head; a push may commit in
    /// between. The outcome must then come back to the caller, not through the callback, which
    /// would reach the connection before it has recorded the park (and be dropped there).
    @Test func aParkOvertakenByTheHeadReturnsItsOutcomeInsteadOfCallingBack() {
        let notifier = RevisionNotifier(head: 4)
        let calls = NIOLockedValueBox(0)
        let outcome = notifier.park(notifier.makeID(), forRevisionAbove: 3, timeout: .seconds(30), on: loop, tail: nil) { _ in
            calls.withLockedValue { $0 += 1 }
        }
        #expect(outcome == .advanced(head: 4))
        #expect(calls.withLockedValue { $0 } == 0)
        #expect(notifier.waitingCount == 0)

        notifier.shutDown()
        let afterShutdown = notifier.park(notifier.makeID(), forRevisionAbove: 4, timeout: .seconds(30), on: loop, tail: nil) { _ in
            calls.withLockedValue { $0 += 1 }
        }
        #expect(afterShutdown == .shuttingDown)
        #expect(calls.withLockedValue { $0 } == 0)
    }

    @Test func aParkAtTheHeadIsCalledBackOnceWhenTheHeadMoves() async {
        let notifier = RevisionNotifier(head: 3)
        let outcomes = NIOLockedValueBox<[RevisionNotifier.Outcome]>([])
        let id = notifier.makeID()
        let immediate = notifier.park(id, forRevisionAbove: 3, timeout: .seconds(30), on: loop, tail: nil) { outcome in
            outcomes.withLockedValue { $0.append(outcome) }
        }
        #expect(immediate == nil)
        #expect(notifier.waitingCount == 1)
        notifier.publish(head: 4)
        notifier.cancel(id)
        #expect(outcomes.withLockedValue { $0 } == [.advanced(head: 4)])
    }

    @Test func manyWaitersAreWokenByOnePublish() async {
        let notifier = RevisionNotifier(head: 0)
        await withTaskGroup(of: RevisionNotifier.Outcome.self) { group in
            for _ in 0..<200 {
                group.addTask { await notifier.wait(forRevisionAbove: 0, timeout: .seconds(30), on: loop) }
            }
            await waitUntil { notifier.waitingCount == 200 }
            notifier.publish(head: 1)
            for await outcome in group {
                #expect(outcome == .advanced(head: 1))
            }
        }
    }
}

/// Polls a cheap condition on the test's own task until it holds (bounded: 10 s).
func waitUntil(_ condition: () -> Bool) async {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition(), ContinuousClock.now < deadline {
        await Task.yield()
        try? await Task.sleep(for: .milliseconds(1))
    }
}
