import ArticleModel
import ArticleStore
import ArticleSyncProtocol
@testable import ArticleSyncServer
import Foundation
import Synchronization
import Testing

/// Writes that land between two batches of a pull: a purge that removes tombstones the stream still
/// owes, deletions of articles a bootstrap has already sent.
@Suite("pulls with writes landing mid-stream")
struct PullInterleavingIntegrationTests {
    static let budget: UInt32 = 4_096

    @Test func aPurgeBetweenBatchesEndsAResumeBelowTheHorizonAndABootstrapIsThenExact() async throws {
        let interleaved = Interleaving { after, store in
            // Well into the stream (several 4 KiB batches sent), before the tombstones at 201-240.
            guard after >= 100 else { return false }
            try await store.purgeTombstones(upTo: .max)
            return true
        }
        try await TestServer.with(articles: 200, serving: interleaved.store) { server in
            try await server.write((1...40).map { Fixtures.delete(id: "article-\($0)") })
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                // A replica that holds articles 1-50 and has yet to learn of their deletion.
                let resume = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 50, budget: Self.budget))
                #expect(interleaved.fired)
                #expect(resume.batches.count > 1, "the purge landed mid-stream")
                #expect(!resume.changes.contains { $0.article == nil }, "no tombstone was left to send")
                guard case .snapshotRequired(let snapshot) = resume.end else {
                    throw TestFailure("the resume must end in SNAPSHOT_REQUIRED, not \(resume.end): its deletions were purged")
                }
                #expect(snapshot.reason == .belowHorizon)
                #expect(snapshot.horizon == 240)
                #expect(snapshot.headRevision == 240)

                let bootstrap = try await client.pull(Pull(storeID: .none, sinceRevision: 0, budget: Self.budget))
                #expect(bootstrap.caughtUpAt == 240)
                #expect(Set(bootstrap.changes.map(\.id)) == (try await server.store.allIDs()))
                #expect(Set(bootstrap.changes.map(\.id)) == Set((41...200).map { "article-\($0)" }))
            }
        }
    }

    @Test func aBootstrapSendsTheDeletionsMadeWhileItStreamsAndSkipsOnlyOlderTombstones() async throws {
        let interleaved = Interleaving { after, store in
            guard after >= 100 else { return false }
            _ = try await store.apply([Fixtures.delete(id: "article-1"), Fixtures.delete(id: "article-2")])
            return true
        }
        try await TestServer.with(articles: 200, serving: interleaved.store) { server in
            try await server.write([Fixtures.delete(id: "article-3")])  // revision 201, before the pull
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let bootstrap = try await client.pull(Pull(storeID: .none, sinceRevision: 0, budget: Self.budget))
                #expect(interleaved.fired, "\(bootstrap.end)")
                #expect(bootstrap.caughtUpAt == 203)
                let sent = bootstrap.changes.filter { ["article-1", "article-2", "article-3"].contains($0.id) }
                #expect(sent.first?.article != nil, "article-1 went out before it was deleted")
                #expect(bootstrap.changes.suffix(2) == [
                    .tombstone(revision: 202, id: "article-1"), .tombstone(revision: 203, id: "article-2"),
                ])
                #expect(!bootstrap.changes.contains { $0.id == "article-3" }, "a tombstone older than the pull is not sent")

                // What a client that applied the stream holds equals the server's store.
                var held = Set<String>()
                for change in bootstrap.changes {
                    if change.article == nil { held.remove(change.id) } else { held.insert(change.id) }
                }
                #expect(held == (try await server.store.allIDs()))
            }
        }
    }

    @Test func aBootstrapEndsBelowTheHorizonOnlyWhenAPurgePassesTheHeadItStartedAt() async throws {
        // A purge of tombstones the bootstrap skips anyway changes nothing for it.
        let older = Interleaving { after, store in
            guard after >= 100 else { return false }
            try await store.purgeTombstones(upTo: 201)
            return true
        }
        try await TestServer.with(articles: 200, serving: older.store) { server in
            try await server.write([Fixtures.delete(id: "article-150")])  // revision 201
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let bootstrap = try await client.pull(Pull(storeID: .none, sinceRevision: 0, budget: Self.budget))
                #expect(older.fired)
                #expect(bootstrap.caughtUpAt == 201)
                #expect(bootstrap.changes.count == 199)
            }
        }
        // A deletion made during the bootstrap and purged before it was sent is lost to it.
        let newer = Interleaving { after, store in
            guard after >= 100 else { return false }
            _ = try await store.apply([Fixtures.delete(id: "article-1")])
            try await store.purgeTombstones(upTo: .max)
            return true
        }
        try await TestServer.with(articles: 200, serving: newer.store) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let bootstrap = try await client.pull(Pull(storeID: .none, sinceRevision: 0, budget: Self.budget))
                #expect(newer.fired)
                guard case .snapshotRequired(let snapshot) = bootstrap.end else {
                    throw TestFailure("the bootstrap must end in SNAPSHOT_REQUIRED, not \(bootstrap.end)")
                }
                #expect(snapshot.reason == .belowHorizon)
                #expect(snapshot.horizon == 201)
            }
        }
    }
}

/// Runs `write` on the store just before one of the server's reads of changes, once: the first
/// read after a revision for which `write` returns true.
final class Interleaving: Sendable {
    private let write: @Sendable (_ after: UInt64, _ store: SQLiteCanonicalStore) async throws -> Bool
    private let done = Mutex(false)

    init(_ write: @escaping @Sendable (_ after: UInt64, _ store: SQLiteCanonicalStore) async throws -> Bool) {
        self.write = write
    }

    var fired: Bool { done.withLock { $0 } }

    /// The store to serve: `inner` with the write slipped in.
    func store(_ inner: SQLiteCanonicalStore) -> any CanonicalStore {
        InterleavingStore(inner: inner, interleaving: self)
    }

    fileprivate func beforeRead(after revision: UInt64, on store: SQLiteCanonicalStore) async throws {
        guard !fired else { return }
        if try await write(revision, store) { done.withLock { $0 = true } }
    }
}

private struct InterleavingStore: CanonicalStore {
    let inner: SQLiteCanonicalStore
    let interleaving: Interleaving

    var storeID: StoreID { inner.storeID }

    func snapshot() async throws -> StoreSnapshot { try await inner.snapshot() }

    func changes(after revision: UInt64, limit: Int, tombstonesAfter: UInt64) async throws -> ChangePage {
        try await interleaving.beforeRead(after: revision, on: inner)
        return try await inner.changes(after: revision, limit: limit, tombstonesAfter: tombstonesAfter)
    }

    func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome]) {
        try await inner.apply(writes)
    }

    func liveRevisions(of ids: [String]) async throws -> [String: UInt64] { try await inner.liveRevisions(of: ids) }

    func digest(at revision: UInt64?) async throws -> (snapshot: StoreSnapshot, digest: DigestState?) {
        try await inner.digest(at: revision)
    }

    func dictionary(id: UInt32) async throws -> [UInt8]? { try await inner.dictionary(id: id) }
}
