@testable import ArticleSyncServer
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
