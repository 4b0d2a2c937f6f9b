import ArticleModel
import ArticleStore
@testable import ArticleSyncClient
import ArticleSyncProtocol
import Crypto
import Foundation
import NIOCore
import Testing
import Zlib

@Suite("client pieces without a server")
struct ClientUnitTests {
    @Test func serverAddressesParseAsPeopleTypeThem() {
        #expect(ServerAddress(parsing: "10.0.0.5:7421") == ServerAddress(host: "10.0.0.5", port: 7421))
        #expect(ServerAddress(parsing: "backup.example") == ServerAddress(host: "backup.example", port: 7420))
        #expect(ServerAddress(parsing: "[::1]:9000") == ServerAddress(host: "::1", port: 9000))
        #expect(ServerAddress(parsing: "::1") == ServerAddress(host: "::1", port: 7420))
        #expect(ServerAddress(parsing: "host:0") == nil)
        #expect(ServerAddress(parsing: "host:http") == nil)
        #expect(ServerAddress(parsing: "") == nil)
        #expect(ServerAddress(host: "::1", port: 1).description == "[::1]:1")
    }

    /// The largest change a store can send (§9): a document at its largest that zlib could not
    /// shrink, with the longest id and source path, alone in a BATCH, plain and in a compressed
    /// frame. The client's bounds must let it through: they refuse only what no store sends.
    @Test func theLargestBatchAStoreCanSendPassesTheClientsBounds() throws {
        var document = [UInt8](repeating: 0, count: ChangeDecoder.largestDocument)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        document.withUnsafeMutableBytes { bytes in
            for offset in stride(from: 0, to: bytes.count - 7, by: 8) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.storeBytes(of: state ^ (state >> 29), toByteOffset: offset, as: UInt64.self)
            }
        }
        let zlib = try Zlib.deflate(document, level: 1)
        #expect(zlib.count > document.count, "random bytes grow under zlib")
        let change = ArticleChange(
            revision: 1, id: String(repeating: "i", count: 255), contentHash: SHA256Hash.zero, encoding: .zlib,
            documentLength: UInt32(document.count), data: ByteBuffer(bytes: zlib),
            sourcePath: String(repeating: "p", count: Change.maxSourcePathLength))
        let batch = ServerMessage.batch(Batch(fromRevision: 0, toRevision: 1, changes: [.article(change)]))
        for compress in [false, true] {
            var frame = ByteBuffer()
            batch.encode(into: &frame, compress: compress)
            #expect(frame.readableBytes - 4 <= SyncConnection.largestServerFrame, "compressed: \(compress)")
            var decoder = ServerMessageDecoder(
                maxFrameLength: UInt32(SyncConnection.largestServerFrame), maxInflatedLength: UInt32(SyncConnection.largestServerPayload))
            let decoded = try decoder.decodeMessage(buffer: &frame)
            #expect(decoded == batch, "compressed: \(compress)")
        }
    }

    @Test func pushesAreChunkedUnderTheFrameLimit() {
        let source = [UInt8](repeating: 65, count: 1000)
        let items = (0..<50).map { PushItem(id: "a\($0)", source: source) }
        let chunks = Pusher.chunks(items, frameLimit: 10_000)
        #expect(chunks.flatMap { $0 } == items)
        #expect(chunks.count > 1)
        for chunk in chunks {
            let size = chunk.reduce(6) { $0 + 1 + 1 + $1.id.utf8.count + 8 + 4 + $1.source!.count }
            #expect(size <= 10_000)
        }
        // One entry larger than the limit still goes alone (the server judges it).
        #expect(Pusher.chunks([PushItem(id: "big", source: [UInt8](repeating: 1, count: 20_000))], frameLimit: 10_000).count == 1)
    }

    @Test func backoffGrowsWithJitterAndStaysBounded() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        let delays = (0..<12).map { _ in backoff.next() }
        #expect(delays.allSatisfy { $0 >= .milliseconds(100) && $0 <= .seconds(2) })
        backoff.reset()
        #expect(backoff.next() <= .milliseconds(100))
    }

    /// A pull (or a re-bootstrap's copy) far behind the head writes with its checkpoints beside
    /// the writer; one near the head leaves the writer's own; either way they are back after.
    @Test func aPullFarBehindTheHeadCheckpointsBesideTheWriterAndANearOneDoesNot() async throws {
        let path = NSTemporaryDirectory() + "bulk-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let replica = try ReplicaStore(path: path, fullTextIndex: false)
        defer { try? replica.close() }
        let storeID = StoreID(bytes: [UInt8](repeating: 7, count: 16))!
        let far = SyncSession.bulkPullRevisions
        for (cursor, head, beside) in [(0, far, true), (5, far + 5, true), (1, far, false), (0, far - 1, false), (far, 0, false)] {
            var report = PullReport(storeID: storeID, startCursor: cursor, cursor: cursor)
            let outcome = try await SyncSession.inBulkIfFarBehind(replica, cursor: cursor, head: head, report: &report) { report in
                report.applied = 3
                let pages = try await replica.writerCheckpointPages()
                #expect(pages == (beside ? 0 : 1_000), "cursor \(cursor), head \(head)")
                return .caughtUp(head)
            }
            guard case .caughtUp(let reached) = outcome else {
                Issue.record("the stream's outcome is returned")
                continue
            }
            #expect(reached == head)
            #expect(report.applied == 3, "the stream's report is kept")
            #expect(try await replica.writerCheckpointPages() == 1_000)
        }
    }

    @Test func batchesWithAGapOrDisorderAreRejected() throws {
        let tomb = { (revision: UInt64) in Change.tombstone(revision: revision, id: "x\(revision)") }
        #expect(throws: Never.self) { try SyncSession.check(Batch(fromRevision: 5, toRevision: 7, changes: [tomb(6), tomb(7)]), cursor: 5) }
        #expect(throws: ClientError.self) { try SyncSession.check(Batch(fromRevision: 6, toRevision: 7, changes: [tomb(7)]), cursor: 5) }
        #expect(throws: ClientError.self) { try SyncSession.check(Batch(fromRevision: 5, toRevision: 7, changes: [tomb(7), tomb(6)]), cursor: 5) }
        #expect(throws: ClientError.self) { try SyncSession.check(Batch(fromRevision: 5, toRevision: 8, changes: [tomb(6), tomb(7)]), cursor: 5) }
    }

    @Test func aLargeBatchDecodedInSlicesKeepsItsOrderAndItsFailures() async throws {
        func change(_ index: Int, corrupt: Bool = false) -> Change {
            let source = Array("Veröffentlichungsdatum: 01.02.2025 10:00 / Politik\n\nTitel \(index)\n\nTitel \(index)\n\nText \(index).\n".utf8)
            let article = try! SeedFormat.parse(source)
            let document = ArticleDocument.encode(article)
            var hash = Array(SHA256.hash(data: source))
            if corrupt { hash[0] ^= 0xFF }
            return .article(ArticleChange(
                revision: UInt64(index), id: "a\(index)", contentHash: SHA256Hash(bytes: hash)!, encoding: .zlib,
                documentLength: UInt32(document.count),
                data: ByteBuffer(bytes: ArticleCompression.compressDocument(document, dictionary: nil))))
        }
        let decoder = ChangeDecoder(dictionaries: [:], bases: [:], keepCompressed: true)
        let changes = (1...300).map { $0 % 50 == 0 ? Change.tombstone(revision: UInt64($0), id: "t\($0)") : change($0) }
        let decoded = try await SyncSession.decode(changes, with: decoder)
        #expect(decoded.map(\.summary.revision) == Array(1...300).map(UInt64.init), "slices are put back in order")
        for case .put(let id, _, let article, _, let compressed) in decoded {
            #expect(article.title == "Titel \(id.dropFirst())")
            #expect(compressed != nil, "a mirror keeps the ZLIB bytes")
        }
        var broken = changes
        broken[250] = change(251, corrupt: true)
        await #expect(throws: ChangeDecoder.Failure.self) { try await SyncSession.decode(broken, with: decoder) }
    }

    @Test func theExitCodeTableNamesEveryCode() {
        for status in ExitStatus.allCases {
            #expect(ExitStatus.table.contains(" \(status.rawValue)   "))
        }
    }
}
