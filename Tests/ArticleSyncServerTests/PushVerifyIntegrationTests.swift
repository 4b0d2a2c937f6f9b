import ArticleModel
import ArticleStore
import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import Testing

@Suite("pushes and verify against a real server on loopback")
struct PushVerifyIntegrationTests {
    static func put(_ id: String, index: Int, edit: Int = 0, expected: UInt64) -> PushEntry {
        PushEntry(id: id, expectedRevision: expected, operation: .put(source: ByteBuffer(bytes: Fixtures.source(index: index, edit: edit))))
    }

    @Test func aPushIsJudgedPerEntryAndAppliedInOneCommit() async throws {
        try await TestServer.with(articles: 3) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let push = Push(entries: [
                    Self.put("article-1", index: 1, edit: 1, expected: 1),      // applied
                    Self.put("article-2", index: 2, edit: 1, expected: 1),      // stale: conflict
                    Self.put("article-3", index: 3, expected: PushEntry.anyRevision),  // same content
                    PushEntry(id: "gone", expectedRevision: 0, operation: .delete),  // not live
                    PushEntry(id: "bad", expectedRevision: 0, operation: .put(source: ByteBuffer(string: "no date line\n"))),
                    PushEntry(id: ".hidden", expectedRevision: 0, operation: .delete),
                    Self.put("article-1", index: 1, edit: 2, expected: PushEntry.anyRevision),  // repeated id
                    Self.put("new", index: 9, expected: 0),                      // applied
                ])
                let answer = try await client.request(.push(push))
                guard case .pushResult(let result) = answer else { throw TestFailure("expected PUSH_RESULT, got \(answer)") }
                #expect(result.headRevision == 5)
                let statuses = result.results.map(\.status)
                #expect(statuses == [.applied, .conflict, .unchanged, .notFound, .invalid, .invalid, .invalid, .applied])
                #expect(result.results[0].revision == 4)
                #expect(result.results[1].revision == 2)  // the article's current revision
                #expect(result.results[2].revision == 3)
                #expect(result.results[4].message.hasPrefix("line 1"))
                #expect(result.results[6].revision == 4)
                #expect(result.results[7].revision == 5)
                #expect(result.results[0].message.isEmpty)

                let stored = try #require(try await server.store.article(id: "article-1"))
                #expect(stored.article.source == Fixtures.source(index: 1, edit: 1))
            }
        }
    }

    @Test func anEntryOverADocumentLimitIsInvalidAloneAndTheOthersApply() async throws {
        try await TestServer.with(articles: 1) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                // A title over 64 KiB passes the seed format but no document can hold it.
                let title = String(repeating: "Überlänge ", count: 7_000)
                let oversize = "Veröffentlichungsdatum: 10.04.2025 21:17 / Politik\n\n\(title)\n\n\(title)\n\nEin Absatz."
                let push = Push(entries: [
                    PushEntry(id: "article-1", expectedRevision: PushEntry.anyRevision, operation: .put(source: ByteBuffer(string: oversize))),
                    Self.put("fresh", index: 2, expected: 0),
                ])
                let answer = try await client.request(.push(push))
                guard case .pushResult(let result) = answer else { throw TestFailure("expected PUSH_RESULT, got \(answer)") }
                #expect(result.results.map(\.status) == [.invalid, .applied])
                #expect(result.results[0].message.contains("title or category exceeds"), "\(result.results[0].message)")
                #expect(result.results[0].revision == 1, "the article's current revision")
                #expect(result.results[1].revision == 2)
                #expect(result.headRevision == 2)
                #expect(try await server.store.article(id: "fresh") != nil)
                #expect(try await server.store.article(id: "article-1")?.article.source == Fixtures.source(index: 1))
                #expect(try await client.request(.ping(nonce: 6)) == .pong(nonce: 6), "a refused entry is not fatal")
            }
        }
    }

    @Test func aReadOnlyConnectionIsForbiddenToPushAndCarriesOn() async throws {
        try await TestServer.with(articles: 1, configure: { $0.authenticator = AnonymousAuthenticator(loopbackRole: .read) }) { server in
            try await TestClient.with(port: server.port) { client in
                let welcome = try await client.handshake()
                #expect(welcome.role == .read)
                let answer = try await client.request(.push(Push(entries: [Self.put("x", index: 1, expected: 0)])))
                guard case .error(let error) = answer else { throw TestFailure("expected FORBIDDEN, got \(answer)") }
                #expect(error.code == .forbidden)
                #expect(try await client.request(.ping(nonce: 3)) == .pong(nonce: 3))
                #expect(try await server.store.snapshot().head == 1)
            }
        }
    }

    @Test func aPushOverTheEntryLimitIsRefusedButTheConnectionStays() async throws {
        try await TestServer.with(configure: { $0.maxPushEntries = 2 }) { server in
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let entries = (1...3).map { Self.put("a\($0)", index: $0, expected: 0) }
                let answer = try await client.request(.push(Push(entries: entries)))
                guard case .error(let error) = answer else { throw TestFailure("expected REQUEST_TOO_LARGE, got \(answer)") }
                #expect(error.code == .requestTooLarge)
                #expect(try await client.request(.ping(nonce: 4)) == .pong(nonce: 4))
            }
        }
    }

    @Test func verifyDescribesAnyRevisionFromTheHorizonToTheHead() async throws {
        try await TestServer.with(articles: 4) { server in
            try await server.write([Fixtures.delete(id: "article-4")])
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                let atHead = try await client.request(.verify(atRevision: VerifyResult.headRevision))
                let expected = try await server.store.snapshot().digestState
                #expect(atHead == .verifyResult(VerifyResult(status: .ok, revision: 5, articleCount: 3, digest: expected.digest)))

                guard case .verifyResult(let middle) = try await client.request(.verify(atRevision: 2)) else { throw TestFailure("expected VERIFY_RESULT") }
                #expect(middle.status == .ok)
                #expect(middle.revision == 2)
                #expect(middle.articleCount == 2)

                guard case .verifyResult(let ahead) = try await client.request(.verify(atRevision: 9)) else { throw TestFailure("expected VERIFY_RESULT") }
                #expect(ahead == VerifyResult(status: .aheadOfHead, revision: 5, articleCount: 0, digest: .zero))
            }
            _ = try await server.store.purgeTombstones(upTo: 5)
            try await TestClient.with(port: server.port) { client in
                try await client.handshake()
                guard case .verifyResult(let below) = try await client.request(.verify(atRevision: 3)) else { throw TestFailure("expected VERIFY_RESULT") }
                #expect(below == VerifyResult(status: .belowHorizon, revision: 5, articleCount: 0, digest: .zero))
            }
        }
    }
}
