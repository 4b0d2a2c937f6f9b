import ArticleModel
import ArticleSyncProtocol
@testable import ArticleSyncServer
import Testing

@Suite("pull decisions (PROTOCOL.md §5.3 steps 1-4)")
struct PullDecisionTests {
    let store = StoreID(bytes: Array(1...16))!
    let other = StoreID(bytes: Array(repeating: 9, count: 16))!

    func decide(_ storeID: StoreID, since: UInt64, wait: UInt32 = 0, head: UInt64 = 100, horizon: UInt64 = 10) -> PullDecision {
        PullDecision.decide(Pull(storeID: storeID, sinceRevision: since, waitMillis: wait), storeID: store, head: head, horizon: horizon)
    }

    @Test func aBootstrapStreams() {
        #expect(decide(.none, since: 0) == .stream)
        #expect(decide(store, since: 0) == .stream)
    }

    @Test func aCursorWithoutAStoreOrForAnotherStoreIsAMismatch() {
        #expect(decide(.none, since: 5) == .snapshotRequired(.storeMismatch))
        #expect(decide(other, since: 50) == .snapshotRequired(.storeMismatch))
        #expect(decide(other, since: 0) == .snapshotRequired(.storeMismatch))
    }

    @Test func aCursorAheadOfTheHeadIsAheadOfServer() {
        #expect(decide(store, since: 101) == .snapshotRequired(.aheadOfServer))
    }

    @Test func aCursorBelowTheHorizonMustBootstrap() {
        #expect(decide(store, since: 9) == .snapshotRequired(.belowHorizon))
        #expect(decide(store, since: 10) == .stream)
    }

    @Test func aCursorAtTheHeadWaitsOnlyWhenAsked() {
        #expect(decide(store, since: 100) == .stream)
        #expect(decide(store, since: 100, wait: 500) == .waitForChange)
        #expect(decide(store, since: 99, wait: 500) == .stream)
    }

    @Test func theBudgetIsClampedAndZeroMeansTheDefault() {
        var configuration = ServerConfiguration()
        #expect(configuration.batchBudget(requested: 0) == 1_048_576)
        #expect(configuration.batchBudget(requested: 1) == 4_096)
        #expect(configuration.batchBudget(requested: .max) == 8_388_608)
        configuration.maxBatchBudget = 65_536
        #expect(configuration.batchBudget(requested: 1_000_000) == 65_536)
        #expect(configuration.longPoll(requestedMillis: .max) == .seconds(300))
    }
}
