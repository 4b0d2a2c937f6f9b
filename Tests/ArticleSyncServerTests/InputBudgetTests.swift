@testable import ArticleSyncServer
import Synchronization
import Testing

@Suite("the server-wide input budget")
struct InputBudgetTests {
    final class Grants: Sendable {
        let order = Mutex<[String]>([])
        func note(_ name: String) -> @Sendable () -> Void { { self.order.withLock { $0.append(name) } } }
    }

    @Test func bytesAreTakenWhileThereAreAndOthersWaitInLineUntilGiven() {
        let budget = InputBudget(capacity: 100)
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
        let budget = InputBudget(capacity: 100)
        let grants = Grants()
        #expect(budget.take(1_000, granted: grants.note("big")) == .taken)
        #expect(budget.available == 0)
        budget.release(1_000)
        #expect(budget.available == 100)
    }

    @Test func aWaiterThatLeavesIsNeverGrantedAndOneGrantedCannotLeave() {
        let budget = InputBudget(capacity: 10)
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
}
