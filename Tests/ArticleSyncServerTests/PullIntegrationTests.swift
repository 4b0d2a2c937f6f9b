import ArticleModel
import ArticleStore
import ArticleSyncProtocol
@testable import ArticleSyncServer
import Foundation
import NIOCore
import Testing

@Suite("pulls against a real server on loopback")
struct PullIntegrationTests {
    @Test func aFullPullStreamsEveryArticleInBudgetSizedBatchesThenCaughtUp() async throws {
        try await TestServer.with(articles: 60) { server in
            try await TestClient.with(port: server.port) { client in
                let welcome = try await client.handshake()
                #expect(welcome.headRevision == 60)
                #expect(welcome.storeID == server.storeID)
                #expect(welcome.role == .write)
                #expect(welcome.features == .all)

                let response = try await client.pull(Pull(storeID: .none, sinceRevision: 0, budget: 4_096))
                #expect(response.caughtUpAt == 60)
                #expect(response.batches.count > 1, "a 4 KiB budget splits 60 articles")
                var cursor: UInt64 = 0
                for batch in response.batches {
                    #expect(batch.fromRevision == cursor)
                    #expect(!batch.changes.isEmpty)
                    var previous = cursor
                    for change in batch.changes {
                        #expect(change.revision > previous)
                        previous = change.revision
                    }
                    #expect(batch.toRevision == previous)
                    let size = ChangeEncoder.batchHeaderSize + batch.changes.map(ChangeEncoder.payloadSize).reduce(0, +)
                    #expect(size <= 4_096 || batch.changes.count == 1)
                    cursor = batch.toRevision
                }
                let ids = Set(response.changes.map(\.id))
                #expect(ids == Set((1...60).map { "article-\($0)" }))
                for change in response.changes {
                    let article = try #require(change.article)
                    #expect(article.encoding == .zlib)
                    let decoded = try decodeArticle(article)
                    #expect(decoded.source == Fixtures.source(index: Int(change.id.dropFirst("article-".count))!))
                }
            }
            #expect(server.server.statistics.snapshot().changesSent == 60)
        }
    }

    @Test func oneArticleLargerThanTheBudgetTravelsAloneInItsBatch() async throws {
        try await TestServer.with(prepare: { store in
            _ = try await store.apply([
                Fixtures.put(id: "small", index: 1),
                Fixtures.put(id: "huge", index: 2, noiseWords: 3_000),
                Fixtures.put(id: "small-2", index: 3),
            ])
        }) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let response = try await client.pull(Pull(storeID: .none, sinceRevision: 0, budget: 4_096))
                let huge = try #require(response.batches.first { $0.changes.contains { $0.id == "huge" } })
                #expect(huge.changes.count == 1)
                #expect(response.changes.map(\.id) == ["small", "huge", "small-2"])
                #expect(response.caughtUpAt == 3)
            }
        }
    }

    @Test func aResumeSendsOnlyLaterChangesWithTombstonesWhichABootstrapOmits() async throws {
        try await TestServer.with(articles: 10) { server in
            try await server.write([Fixtures.delete(id: "article-3"), Fixtures.put(id: "article-5", index: 5, edit: 1)])
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let resume = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 7))
                #expect(resume.changes.map(\.id) == ["article-8", "article-9", "article-10", "article-3", "article-5"])
                #expect(resume.changes.map(\.revision) == [8, 9, 10, 11, 12])
                #expect(resume.changes[3] == .tombstone(revision: 11, id: "article-3"))
                #expect(resume.batches.first?.fromRevision == 7)
                #expect(resume.caughtUpAt == 12)

                let bootstrap = try await client.pull(Pull(storeID: .none, sinceRevision: 0))
                #expect(bootstrap.changes.count == 9)
                #expect(!bootstrap.changes.contains { $0.id == "article-3" })
                #expect(bootstrap.caughtUpAt == 12)

                let atHead = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 12))
                #expect(atHead.batches.isEmpty)
                #expect(atHead.caughtUpAt == 12)
            }
        }
    }

    @Test func snapshotRequiredNamesItsReason() async throws {
        try await TestServer.with(articles: 6) { server in
            try await server.write([Fixtures.delete(id: "article-1"), Fixtures.delete(id: "article-2")])
            _ = try await server.store.purgeTombstones(upTo: 7)
            try await TestClient.with(port: server.port) { client in
                let welcome = try await client.handshake()
                #expect(welcome.horizon == 7)
                func reason(_ pull: Pull) async throws -> SnapshotReason? {
                    let response = try await client.pull(pull)
                    #expect(response.batches.isEmpty)
                    guard case .snapshotRequired(let snapshot) = response.end else { return nil }
                    #expect(snapshot.storeID == server.storeID)
                    #expect(snapshot.headRevision == 8)
                    #expect(snapshot.horizon == 7)
                    #expect(!snapshot.message.isEmpty)
                    return snapshot.reason
                }
                #expect(try await reason(Pull(storeID: server.storeID, sinceRevision: 3)) == .belowHorizon)
                #expect(try await reason(Pull(storeID: StoreID(bytes: Array(repeating: 7, count: 16))!, sinceRevision: 8)) == .storeMismatch)
                #expect(try await reason(Pull(storeID: .none, sinceRevision: 8)) == .storeMismatch)
                #expect(try await reason(Pull(storeID: server.storeID, sinceRevision: 9)) == .aheadOfServer)
                // At the horizon the client has seen every purged tombstone and may resume.
                let resume = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 7))
                #expect(resume.changes == [.tombstone(revision: 8, id: "article-2")])
            }
        }
    }

    @Test func aLongPollIsWokenByAPushFromAnotherClient() async throws {
        try await TestServer.with(articles: 3) { server in
            try await TestClient.with(port: server.port) { waiter in
                try await waiter.handshake()
                try await waiter.send(.pull(Pull(storeID: server.storeID, sinceRevision: 3, waitMillis: 60_000)))
                await waitUntil { server.server.notifier.waitingCount == 1 }
                let started = ContinuousClock.now

                try await TestClient.with(port: server.port) { writer in
                    try await writer.handshake()
                    let source = ByteBuffer(bytes: Fixtures.source(index: 40))
                    let answer = try await writer.request(.push(Push(entries: [PushEntry(id: "fresh", expectedRevision: 0, operation: .put(source: source))])))
                    guard case .pushResult(let result) = answer else { throw TestFailure("expected PUSH_RESULT, got \(answer)") }
                    #expect(result.results == [PushResult.Entry(status: .applied, revision: 4)])
                }

                guard case .batch(let batch) = try await waiter.receive() else { throw TestFailure("expected the pushed change") }
                #expect(batch.changes.map(\.id) == ["fresh"])
                #expect(try await waiter.receive() == .caughtUp(headRevision: 4))
                #expect(ContinuousClock.now - started < .seconds(30))
            }
        }
    }

    @Test func aLongPollWithoutChangesEndsCaughtUpAtTheSameHead() async throws {
        try await TestServer.with(articles: 2) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let response = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 2, waitMillis: 100))
                #expect(response.batches.isEmpty)
                #expect(response.caughtUpAt == 2)
            }
        }
    }

    @Test func deltasTravelOnlyWhenNegotiatedRequestedAndTheBaseIsHeld() async throws {
        try await TestServer.with(prepare: { store in
            _ = try await store.apply([Fixtures.put(id: "edited", index: 1, paragraphs: 30), Fixtures.put(id: "other", index: 2)])
            _ = try await store.apply([Fixtures.put(id: "edited", index: 1, edit: 1, paragraphs: 30)])
        }) { server in
            let base = Fixtures.source(index: 1, paragraphs: 30)
            try await TestClient.with(port: server.port) { client in
                try await client.handshake(features: .all)
                let withDeltas = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 2, flags: .acceptDeltas))
                let change = try #require(withDeltas.changes.first?.article)
                #expect(change.encoding == .delta(baseHash: Fixtures.sha256(base)))
                #expect(try decodeArticle(change, baseSource: base).source == Fixtures.source(index: 1, edit: 1, paragraphs: 30))

                let withoutFlag = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 2))
                #expect(withoutFlag.changes.first?.article?.encoding == .zlib)
                // The client's cursor is before the base: it cannot hold it.
                let beforeBase = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 0, flags: .acceptDeltas))
                #expect(beforeBase.changes.allSatisfy { $0.article?.encoding == .zlib })
            }
            try await TestClient.with(port: server.port) { client in
                try await client.handshake(features: [.dictionary])
                let response = try await client.pull(Pull(storeID: server.storeID, sinceRevision: 2, flags: .acceptDeltas))
                #expect(response.changes.first?.article?.encoding == .zlib)
            }
        }
    }

    @Test func documentsNamingADictionaryTravelRawToClientsWithoutTheFeature() async throws {
        let dictionary = Array(String(repeating: "Die Bürgermeister der Gemeinden trafen sich am Montag im Rathaus. ", count: 20).utf8)
        try await TestServer.with(prepare: { store in
            try await store.installDictionary(dictionary)
            _ = try await store.apply([Fixtures.put(id: "a", index: 1), Fixtures.put(id: "b", index: 2)])
        }) { server in
            let dictionaryID = Zlib_adler32(dictionary)
            try await TestClient.with(port: server.port) { client in
                try await client.handshake(features: [])
                let response = try await client.pull(Pull(storeID: .none, sinceRevision: 0))
                for change in response.changes {
                    let article = try #require(change.article)
                    #expect(article.encoding == .raw)
                    _ = try decodeArticle(article)
                }
            }
            try await TestClient.with(port: server.port) { client in
                try await client.handshake(features: [.dictionary])
                let response = try await client.pull(Pull(storeID: .none, sinceRevision: 0))
                let first = try #require(response.changes.first?.article)
                #expect(first.encoding == .zlib)
                #expect(ArticleCompression.dictionaryID(of: Array(first.data.readableBytesView)) == dictionaryID)

                let answer = try await client.request(.getDictionary(id: dictionaryID))
                guard case .dictionary(let fetched) = answer else { throw TestFailure("expected DICTIONARY, got \(answer)") }
                #expect(Array(fetched.bytes.readableBytesView) == dictionary)
                _ = try decodeArticle(first, dictionaries: [dictionaryID: dictionary])

                let unknown = try await client.request(.getDictionary(id: 12_345))
                guard case .error(let error) = unknown else { throw TestFailure("expected ERROR, got \(unknown)") }
                #expect(error.code == .unknownDictionary)
                // Non-fatal: the connection goes on.
                #expect(try await client.request(.ping(nonce: 5)) == .pong(nonce: 5))
            }
        }
    }
}

func Zlib_adler32(_ bytes: [UInt8]) -> UInt32 {
    // Adler-32 as zlib names a dictionary (RFC 1950).
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in bytes {
        a = (a + UInt32(byte)) % 65_521
        b = (b + a) % 65_521
    }
    return b << 16 | a
}
