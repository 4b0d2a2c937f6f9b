import ArticleModel
import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import Testing

@Suite("a batch's documents share one buffer")
struct BatchCompactionTests {
    static func article(_ revision: UInt64, _ bytes: [UInt8]) -> Change {
        .article(ArticleChange(
            revision: revision, id: "a\(revision)", contentHash: SHA256Hash(bytes: [UInt8](repeating: UInt8(revision), count: 32))!,
            encoding: .zlib, documentLength: UInt32(bytes.count * 3), data: ByteBuffer(bytes: bytes)))
    }

    @Test func compactionKeepsEveryChangeAndItsBytesInOrder() {
        let changes: [Change] = [
            Self.article(1, [1, 2, 3]), .tombstone(revision: 2, id: "gone"), Self.article(3, Array(repeating: 7, count: 1_200)),
            Self.article(4, []),
        ]
        let compacted = BatchReader.compacted(changes)
        #expect(compacted == changes)
        let capacities = Set(compacted.compactMap { change -> Int? in
            guard case .article(let article) = change else { return nil }
            return article.data.storageCapacity
        })
        #expect(capacities.count == 1, "one shared buffer, not one per document")
    }

    @Test func aBatchOfTombstonesIsLeftAsItIs() {
        let changes: [Change] = [.tombstone(revision: 1, id: "x"), .tombstone(revision: 2, id: "y")]
        #expect(BatchReader.compacted(changes) == changes)
    }
}
