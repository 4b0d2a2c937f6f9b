import ArticleModel
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
import ArticleSyncServerTestSupport
import Foundation
import Synchronization
import Testing

/// `Syncer.dryRun()` against an in-process server: what the report lists, in which order, and
/// that it writes nothing.
@Suite("the report of a dry run")
struct DryRunReportTests {
    /// A server store of `count` articles and a replica that pulled them, in a directory removed
    /// when `body` returns.
    static func withPulledReplica(
        count: Int, noise: Bool = false, _ body: (_ store: SQLiteCanonicalStore, _ server: EditOnRead, _ replica: String, _ configuration: ClientConfiguration) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("articlesync-dryrun-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteCanonicalStore(path: directory + "/server.sqlite")
        defer { try? store.close() }
        _ = try await store.apply((1...count).map { try put($0, noise: noise) })
        let server = EditOnRead(store: store)
        try await InProcessServer.with(store: server) { address in
            let configuration = ClientConfiguration(address: address)
            let replica = directory + "/replica.sqlite"
            #expect(try await syncer(configuration, replica).pull().cursor == UInt64(count))
            try await body(store, server, replica, configuration)
        }
    }

    static func put(_ index: Int, edit: Int = 0, noise: Bool = false) throws -> StoreWrite {
        // Noisy articles of twenty paragraphs are each more than the smallest batch budget.
        let article = try SeedFormat.parse(Array(Corpus.article(index, paragraphs: noise ? 20 : 4, edit: edit, noise: noise).utf8))
        return StoreWrite(id: Corpus.id(index), expectedRevision: StoreWrite.anyRevision, operation: .put(article))
    }

    static func delete(_ index: Int) -> StoreWrite {
        StoreWrite(id: Corpus.id(index), expectedRevision: StoreWrite.anyRevision, operation: .delete)
    }

    static func syncer(_ configuration: ClientConfiguration, _ replica: String, pageSize: Int = SyncOptions.defaultDryRunPageSize) -> Syncer {
        var options = SyncOptions()
        options.budget = ProtocolLimits.minBudget
        options.fullTextIndex = false
        options.dryRunPageSize = pageSize
        return Syncer(configuration: configuration, replicaPath: replica, options: options)
    }

    static func title(_ index: Int) -> String {
        String(Corpus.article(index).split(separator: "\n", omittingEmptySubsequences: true)[1])
    }

    static func changes(of report: DryRunReport) throws -> [PlannedChange] {
        var changes: [PlannedChange] = []
        try report.forEachChange { changes.append($0) }
        return changes
    }

    /// The replica file and which of its sidecars exist.
    static func fingerprint(_ path: String) -> (Data?, [Bool]) {
        (FileManager.default.contents(atPath: path), ["-wal", "-shm", "-journal"].map { FileManager.default.fileExists(atPath: path + $0) })
    }

    @Test func anArticleChangedTwiceInOnePullIsListedOnceWithItsLastChangeInRevisionOrder() async throws {
        try await Self.withPulledReplica(count: 10, noise: true) { store, server, replica, configuration in
            _ = try await store.apply([try Self.put(3, edit: 1, noise: true)])  // 11
            _ = try await store.apply([try Self.put(40, noise: true)])  // 12
            _ = try await store.apply([Self.delete(5)])  // 13
            _ = try await store.apply([try Self.put(41, noise: true)])  // 14, replaced by 15
            _ = try await store.apply([Self.delete(41)])  // 15: the replica never held it
            _ = try await store.apply([try Self.put(7, edit: 1, noise: true)])  // 16
            // Once the pull has read article 3 at revision 11, it changes again (17): the pull
            // sends it twice.
            server.arm(after: 10, then: [try Self.put(3, edit: 2, noise: true)])

            let report = try await Self.syncer(configuration, replica).dryRun()
            #expect(server.fired)
            #expect(report.head == 17)
            let changes = try Self.changes(of: report)
            #expect(changes.map(\.revision) == [12, 13, 16, 17], "\(changes)")
            #expect(changes.map(\.id) == [40, 5, 7, 3].map(Corpus.id))
            #expect(changes.map(\.kind) == [.new, .deleted, .changed, .changed])
            #expect(changes.map(\.title) == [Self.title(40), nil, Self.title(7), Self.title(3)])
            #expect((report.added, report.changed, report.deleted) == (1, 2, 1))
            #expect((report.count(.new), report.count(.changed), report.count(.deleted)) == (1, 2, 1))
            #expect(!report.guardWouldRefuse)
        }
    }

    @Test func intoAMissingReplicaEveryArticleIsNewAndNoDeletionIsListed() async throws {
        try await Self.withPulledReplica(count: 12) { store, _, replica, configuration in
            for write in [Self.delete(2), try Self.put(30), Self.delete(30), try Self.put(4, edit: 1)] { _ = try await store.apply([write]) }
            let missing = replica + ".none/replica.sqlite"
            let report = try await Self.syncer(configuration, missing).dryRun()
            let changes = try Self.changes(of: report)
            #expect(changes.map(\.id) == ([1, 3] + Array(5...12) + [4]).map(Corpus.id), "\(changes)")
            #expect(changes.allSatisfy { $0.kind == .new })
            #expect(changes.map(\.revision) == changes.map(\.revision).sorted())
            #expect((report.added, report.changed, report.deleted) == (11, 0, 0))
            #expect(!FileManager.default.fileExists(atPath: replica + ".none"), "the dry run made the replica's folder")
        }
    }

    @Test func moreChangesThanOnePageOfLookupsGiveTheSameReportAsOnePage() async throws {
        try await Self.withPulledReplica(count: 50) { store, _, replica, configuration in
            _ = try await store.apply((1...20).map { try Self.put($0, edit: 1) })
            _ = try await store.apply((21...30).map(Self.delete))
            _ = try await store.apply((51...70).map { try Self.put($0) })
            _ = try await store.apply((60...65).map(Self.delete))
            _ = try await store.apply((1...5).map { try Self.put($0, edit: 2) })

            let whole = try await Self.syncer(configuration, replica).dryRun()
            let paged = try await Self.syncer(configuration, replica, pageSize: 3).dryRun()
            let wholeChanges = try Self.changes(of: whole)
            #expect(wholeChanges.count == 44)
            #expect(try Self.changes(of: paged) == wholeChanges)
            #expect((whole.added, whole.changed, whole.deleted) == (14, 20, 10))
            #expect((paged.added, paged.changed, paged.deleted) == (14, 20, 10))
            // Ten deletions of the replica's fifty are more than the guard's ten percent.
            #expect(whole.guardWouldRefuse && paged.guardWouldRefuse)

            let missing = replica + ".none"
            let fresh = try Self.changes(of: try await Self.syncer(configuration, missing).dryRun())
            let freshPaged = try Self.changes(of: try await Self.syncer(configuration, missing, pageSize: 1).dryRun())
            #expect(fresh.count == 54 && freshPaged == fresh)
        }
    }

    @Test func aDryRunLeavesTheReplicaByteForByteAsItWas() async throws {
        try await Self.withPulledReplica(count: 20) { store, _, replica, configuration in
            _ = try await store.apply([try Self.put(3, edit: 1), Self.delete(4), try Self.put(25)])
            let before = Self.fingerprint(replica)
            #expect(before.0 != nil)
            let report = try await Self.syncer(configuration, replica, pageSize: 2).dryRun()
            #expect(try Self.changes(of: report).count == 3)
            let after = Self.fingerprint(replica)
            #expect(after.0 == before.0, "the replica file changed")
            #expect(after.1 == before.1, "sidecars before \(before.1), after \(after.1)")
        }
    }
}

/// Serves `store` and, once armed, applies `writes` to it right after the first read of changes
/// after `revision`: the pull goes on to read what they changed.
final class EditOnRead: CanonicalStore {
    let store: SQLiteCanonicalStore
    private let state = Mutex<(armedAfter: UInt64?, writes: [StoreWrite], fired: Bool)>((nil, [], false))

    init(store: SQLiteCanonicalStore) { self.store = store }

    func arm(after revision: UInt64, then writes: [StoreWrite]) { state.withLock { $0 = (revision, writes, false) } }
    var fired: Bool { state.withLock { $0.fired } }

    var storeID: StoreID { store.storeID }

    func snapshot() async throws -> StoreSnapshot { try await store.snapshot() }

    func changes(after revision: UInt64, limit: Int, tombstonesAfter: UInt64) async throws -> ChangePage {
        let page = try await store.changes(after: revision, limit: limit, tombstonesAfter: tombstonesAfter)
        let due = state.withLock { state -> [StoreWrite] in
            guard let armed = state.armedAfter, !state.fired, revision >= armed else { return [] }
            state.fired = true
            return state.writes
        }
        if !due.isEmpty { _ = try await store.apply(due) }
        return page
    }

    func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome]) { try await store.apply(writes) }

    func liveRevisions(of ids: [String]) async throws -> [String: UInt64] { try await store.liveRevisions(of: ids) }

    func digest(at revision: UInt64?) async throws -> (snapshot: StoreSnapshot, digest: DigestState?) {
        try await store.digest(at: revision)
    }

    func dictionary(id: UInt32) async throws -> [UInt8]? { try await store.dictionary(id: id) }
}
