@testable import ArticleSyncServer
import NIOPosix
import Synchronization
import Testing

@Suite("a server-wide byte budget, in line")
struct ByteBudgetTests {
    final class Grants: Sendable {
        let order = Mutex<[String]>([])
        func note(_ name: String) -> @Sendable () -> Void { { self.order.withLock { $0.append(name) } } }
    }

    @Test func bytesAreTakenWhileThereAreAndOthersWaitInLineUntilGiven() {
        let budget = ByteBudget(capacity: 100)
        let grants = Grants()
        #expect(budget.take(60, granted: grants.note("a")) == .taken)
        #expect(budget.take(50, granted: grants.note("b")) == .waiting(id: 0))
        // Later requests queue behind the first waiter even when they would fit.
        #expect(budget.take(10, granted: grants.note("c")) == .waiting(id: 1))
        #expect(budget.available == 40)
        budget.release(20)
        #expect(grants.order.withLock { $0 } == ["b", "c"])
        #expect(budget.available == 0)
        budget.release(60)
        #expect(budget.available == 60)
    }

    @Test func aRequestAboveTheCapacityTakesTheWholeBudgetRatherThanWaitingForever() {
        let budget = ByteBudget(capacity: 100)
        let grants = Grants()
        #expect(budget.take(1_000, granted: grants.note("big")) == .taken)
        #expect(budget.available == 0)
        budget.release(1_000)
        #expect(budget.available == 100)
    }

    @Test func aWaiterThatLeavesIsNeverGrantedAndOneGrantedCannotLeave() {
        let budget = ByteBudget(capacity: 10)
        let grants = Grants()
        #expect(budget.take(10, granted: grants.note("a")) == .taken)
        guard case .waiting(let gone) = budget.take(5, granted: grants.note("gone")) else { Issue.record("not queued"); return }
        guard case .waiting(let kept) = budget.take(5, granted: grants.note("kept")) else { Issue.record("not queued"); return }
        #expect(budget.withdraw(gone))
        budget.release(10)
        #expect(grants.order.withLock { $0 } == ["kept"])
        #expect(!budget.withdraw(kept), "granted already: its bytes are the caller's to give back")
        #expect(budget.available == 5)
    }

    @Test func anInflationReservationWaitsForBytesGivenBack() async {
        let budget = InflationBudget(capacity: 100)
        #expect(await budget.reserve(80))
        let second = Task { await budget.reserve(50) }
        budget.release(80)
        #expect(await second.value)
        #expect(budget.available == 50)
    }

    @Test func aCancelledInflationReservationTakesNothing() async {
        let budget = InflationBudget(capacity: 10)
        #expect(await budget.reserve(10))
        let cancelled = Task { await budget.reserve(5) }
        cancelled.cancel()
        #expect(await cancelled.value == false)
        budget.release(10)
        #expect(budget.available == 10)
    }

    @Test func anInflationReservationWhosePeerWentAwayTakesNothing() async throws {
        let budget = InflationBudget(capacity: 10)
        #expect(await budget.reserve(10))
        let gone = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        let abandoned = Task { await budget.reserve(5, abandonedWhen: gone.futureResult) }
        gone.succeed()
        #expect(await abandoned.value == false)
        budget.release(10)
        #expect(budget.available == 10)
    }
}
