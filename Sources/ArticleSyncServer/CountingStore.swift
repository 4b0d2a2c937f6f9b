import ArticleModel
import ArticleStore

/// The server's store, with every read counted (`ServerStatistics.storeReads`): what a wake-up of the
/// long polls costs the store is then a figure an operator and the benchmark can read.
struct CountingStore: CanonicalStore {
    let base: any CanonicalStore
    let statistics: ServerStatistics

    var storeID: StoreID { base.storeID }

    private func counted() {
        statistics.update { $0.storeReads += 1 }
    }

    func snapshot() async throws -> StoreSnapshot {
        counted()
        return try await base.snapshot()
    }

    func changes(after revision: UInt64, limit: Int, tombstonesAfter: UInt64) async throws -> ChangePage {
        counted()
        return try await base.changes(after: revision, limit: limit, tombstonesAfter: tombstonesAfter)
    }

    func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome]) {
        try await base.apply(writes)
    }

    func liveRevisions(of ids: [String]) async throws -> [String: UInt64] {
        counted()
        return try await base.liveRevisions(of: ids)
    }

    func digest(at revision: UInt64?) async throws -> (snapshot: StoreSnapshot, digest: DigestState?) {
        counted()
        return try await base.digest(at: revision)
    }

    func dictionary(id: UInt32) async throws -> [UInt8]? {
        counted()
        return try await base.dictionary(id: id)
    }
}
