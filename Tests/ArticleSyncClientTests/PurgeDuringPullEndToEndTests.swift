import ArticleModel
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
import ArticleSyncServerTestSupport
import ArticleSyncServer
import Foundation
import Synchronization
import Testing

/// The sync engine against an in-process server whose store is purged between two batches of a
/// pull: the pull must end in a re-bootstrap that leaves the replica exact.
@Suite("a purge during a pull", .serialized)
struct PurgeDuringPullEndToEndTests {
    @Test func aPurgeBetweenBatchesEndsThePullInAReBootstrapAndTheReplicaVerifiesExact() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("articlesync-purge-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteCanonicalStore(path: directory + "/server.sqlite")
        defer { try? store.close() }
        func put(_ index: Int, edit: Int = 0) throws -> StoreWrite {
            let article = try SeedFormat.parse(Array(Corpus.article(index, edit: edit).utf8))
            return StoreWrite(id: Corpus.id(index), expectedRevision: StoreWrite.anyRevision, operation: .put(article))
        }
        _ = try await store.apply((1...300).map { try put($0) })

        let purge = PurgeBeforeRead(store: store)
        try await InProcessServer.with(store: purge) { address in
            var options = SyncOptions()
            options.budget = 4_096
            options.fullTextIndex = false
            let configuration = ClientConfiguration(address: address)
            let replica = directory + "/replica.sqlite"
            let syncer = Syncer(configuration: configuration, replicaPath: replica, options: options)
            let first = try await syncer.pull()
            #expect(first.cursor == 300)

            // Edits first (revisions 301-400), then deletions (401-420): a resume from 300 reaches the
            // tombstones only after several batches, and the purge lands before it does.
            _ = try await store.apply((1...100).map { try put($0, edit: 1) })
            _ = try await store.apply((281...300).map { StoreWrite(id: Corpus.id($0), expectedRevision: StoreWrite.anyRevision, operation: .delete) })
            purge.arm(after: 350)

            let second = try await syncer.pull()
            #expect(purge.fired)
            let rebootstrap = try #require(second.rebootstrap, "the pull must re-bootstrap: deletions it owed were purged")
            #expect(rebootstrap.reason == .belowHorizon)
            #expect(rebootstrap.removed == 20)
            #expect(second.cursor == 420)

            let report = try await Verifier(configuration: configuration, replicaPath: replica).verify()
            #expect(report.isExact, "\(report.differences)")
            let held = try Replica.openExisting(at: replica)
            defer { try? held.close() }
            #expect(try await held.allIDs() == (try await store.allIDs()))
            #expect(try await held.article(id: Corpus.id(7))?.article.source == Array(Corpus.article(7, edit: 1).utf8))
        }
    }
}

/// Serves `store` and, once armed, purges every tombstone just before the first read of changes
/// after `revision`.
private final class PurgeBeforeRead: CanonicalStore {
    let store: SQLiteCanonicalStore
    private let state = Mutex<(armedAfter: UInt64?, fired: Bool)>((nil, false))

    init(store: SQLiteCanonicalStore) { self.store = store }

    func arm(after revision: UInt64) { state.withLock { $0.armedAfter = revision } }
    var fired: Bool { state.withLock { $0.fired } }

    var storeID: StoreID { store.storeID }

    func snapshot() async throws -> StoreSnapshot { try await store.snapshot() }

    func changes(after revision: UInt64, limit: Int, tombstonesAfter: UInt64) async throws -> ChangePage {
        let due = state.withLock { state -> Bool in
            guard let armed = state.armedAfter, !state.fired, revision >= armed else { return false }
            state.fired = true
            return true
        }
        if due { try await store.purgeTombstones(upTo: .max) }
        return try await store.changes(after: revision, limit: limit, tombstonesAfter: tombstonesAfter)
    }

    func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome]) { try await store.apply(writes) }

    func liveRevisions(of ids: [String]) async throws -> [String: UInt64] { try await store.liveRevisions(of: ids) }

    func digest(at revision: UInt64?) async throws -> (snapshot: StoreSnapshot, digest: DigestState?) {
        try await store.digest(at: revision)
    }

    func dictionary(id: UInt32) async throws -> [UInt8]? { try await store.dictionary(id: id) }
}
