import ArticleModel
import ArticleStore
import ArticleSyncProtocol
@testable import ArticleSyncServer
import Foundation
import NIOCore
import Testing

@Suite("long polls at the tail answered with one read")
struct TailBroadcastIntegrationTests {
    /// Parks `count` clients at `server`'s head, runs `body` with them, closes them whatever happens.
    private func withFollowers(
        _ count: Int, server: TestServer, budget: UInt32 = 0, features: Features = .all,
        _ body: ([TestClient]) async throws -> Void
    ) async throws {
        func park(_ parked: [TestClient]) async throws {
            if parked.count == count {
                try await body(parked)
                return
            }
            try await TestClient.with(port: server.port) { client in
                let welcome = try await client.handshake(features: features)
                try await client.send(.pull(Pull(storeID: server.storeID, sinceRevision: welcome.headRevision, budget: budget, waitMillis: 60_000)))
                try await park(parked + [client])
            }
        }
        try await park([])
    }

    private func push(_ entries: [PushEntry], to server: TestServer) async throws -> UInt64 {
        try await TestClient.with(port: server.port) { writer in
            try await writer.handshake()
            guard case .pushResult(let result) = try await writer.request(.push(Push(entries: entries))) else {
                throw TestFailure("expected PUSH_RESULT")
            }
            return result.headRevision
        }
    }

    private func put(_ id: String, index: Int, noiseWords: Int = 0) -> PushEntry {
        PushEntry(id: id, expectedRevision: 0, operation: .put(source: ByteBuffer(bytes: Fixtures.source(index: index, noiseWords: noiseWords))))
    }

    @Test func everyFollowerAtTheHeadGetsTheChangeThenCaughtUpFromOneStoreReadWhateverTheirNumber() async throws {
        try await TestServer.with(articles: 3) { server in
            var readsPerWakeUp: [UInt64] = []
            for (round, followers) in [4, 24].enumerated() {
                try await withFollowers(followers, server: server) { clients in
                    await waitUntil { server.server.notifier.waitingCount == followers }
                    let before = server.server.statistics.snapshot()
                    let head = try await push([put("fresh-\(round)", index: 40 + round)], to: server)
                    for client in clients {
                        guard case .batch(let batch) = try await client.receive() else { throw TestFailure("expected the pushed change") }
                        #expect(batch.changes.map(\.id) == ["fresh-\(round)"])
                        #expect(batch.fromRevision == head - 1)
                        #expect(try await client.receive() == .caughtUp(headRevision: head))
                    }
                    let after = server.server.statistics.snapshot()
                    #expect(after.wakeUps - before.wakeUps == 1)
                    #expect(after.sharedAnswers - before.sharedAnswers == UInt64(followers))
                    // The writer's WELCOME reads the store once; the wake-up once more.
                    readsPerWakeUp.append(after.storeReads - before.storeReads - 1)

                    // The connections are READY again: the next pull is answered as usual.
                    let again = try await clients[0].pull(Pull(storeID: server.storeID, sinceRevision: head))
                    #expect(again.caughtUpAt == head)
                }
            }
            #expect(readsPerWakeUp == [1, 1])
        }
    }

    @Test func aFollowerWhoseBudgetTheSharedBatchExceedsReadsOnItsOwnInBatchesOfItsBudget() async throws {
        try await TestServer.with(articles: 2) { server in
            try await withFollowers(1, server: server, budget: 4_096) { small in
                try await withFollowers(1, server: server) { large in
                    await waitUntil { server.server.notifier.waitingCount == 2 }
                    let before = server.server.statistics.snapshot()
                    let head = try await push([put("long", index: 50, noiseWords: 900), put("short", index: 51)], to: server)

                    guard case .batch(let shared) = try await large[0].receive() else { throw TestFailure("expected one batch") }
                    #expect(shared.changes.map(\.id) == ["long", "short"])
                    #expect(try await large[0].receive() == .caughtUp(headRevision: head))

                    var ids: [String] = []
                    var message = try await small[0].receive()
                    while case .batch(let batch) = message {
                        let size = Frame.lengthFieldSize + Frame.headerSize + ChangeEncoder.batchHeaderSize
                            + batch.changes.map(ChangeEncoder.payloadSize).reduce(0, +)
                        #expect(size <= 4_096 || batch.changes.count == 1)
                        ids += batch.changes.map(\.id)
                        message = try await small[0].receive()
                    }
                    #expect(ids == ["long", "short"])
                    #expect(message == .caughtUp(headRevision: head))
                    #expect(server.server.statistics.snapshot().sharedAnswers - before.sharedAnswers == 1)
                }
            }
        }
    }

    @Test func followersWithSourcePathsGetTheImportedPathAndFollowersWithoutTheBitDoNot() async throws {
        try await TestServer.with(articles: 2) { server in
            try await withFollowers(1, server: server) { withPaths in
                try await withFollowers(1, server: server, features: [.dictionary, .delta]) { without in
                    await waitUntil { server.server.notifier.waitingCount == 2 }
                    // An import beside the server (as `articlesyncd import` is) records the path.
                    let folder = NSTemporaryDirectory() + "tail-source-path-\(UUID().uuidString)"
                    defer { try? FileManager.default.removeItem(atPath: folder) }
                    try FileManager.default.createDirectory(atPath: folder + "/politik", withIntermediateDirectories: true)
                    try Data(Fixtures.source(index: 70)).write(to: URL(fileURLWithPath: folder + "/politik/imported.txt"))
                    _ = try await server.store.importFiles([folder])
                    let head = try await server.store.snapshot().head
                    server.server.notifier.publish(head: head)
                    for (client, expected) in [(withPaths[0], "politik/imported.txt" as String?), (without[0], nil)] {
                        guard case .batch(let batch) = try await client.receive(), let article = batch.changes.first?.article else {
                            throw TestFailure("expected the imported change")
                        }
                        #expect(article.id == "imported")
                        #expect(article.sourcePath == expected)
                        #expect(try await client.receive() == .caughtUp(headRevision: head))
                    }
                }
            }
        }
    }

    @Test func followersWithoutTheDictionaryFeatureAreSentTheirOwnEncodingOfTheSameChange() async throws {
        try await TestServer.with(articles: 2) { server in
            try await withFollowers(2, server: server) { full in
                try await withFollowers(2, server: server, features: []) { plain in
                    await waitUntil { server.server.notifier.waitingCount == 4 }
                    let head = try await push([put("fresh", index: 60)], to: server)
                    var documents: [[UInt8]] = []
                    for client in full + plain {
                        guard case .batch(let batch) = try await client.receive(), let article = batch.changes.first?.article else {
                            throw TestFailure("expected the pushed change")
                        }
                        documents.append(try decodeArticle(article).source)
                        #expect(try await client.receive() == .caughtUp(headRevision: head))
                    }
                    #expect(Set(documents).count == 1, "every encoding carries the same article")
                    #expect(documents.first == Fixtures.source(index: 60))
                }
            }
        }
    }
}
