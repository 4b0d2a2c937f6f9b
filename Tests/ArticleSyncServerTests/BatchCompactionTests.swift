import ArticleModel
import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import Testing

@Suite("a batch's documents share one buffer")
struct BatchCompactionTests {
    static func article(_ revision: UInt64, _ bytes: [UInt8]) -> EncodedChange {
        .article(EncodedArticle(
            revision: revision, id: "a\(revision)", contentHash: SHA256Hash(bytes: [UInt8](repeating: UInt8(revision), count: 32))!,
            encoding: .zlib, documentLength: UInt32(bytes.count * 3), data: bytes))
    }

    static func expected(_ changes: [EncodedChange]) -> [Change] {
        changes.map { change in
            switch change {
            case .tombstone(let revision, let id): return .tombstone(revision: revision, id: id)
            case .article(let a):
                return .article(ArticleChange(
                    revision: a.revision, id: a.id, contentHash: a.contentHash, encoding: a.encoding, documentLength: a.documentLength,
                    data: ByteBuffer(bytes: a.data), sourcePath: a.sourcePath))
            }
        }
    }

    @Test func compactionKeepsEveryChangeAndItsBytesInOrder() {
        let changes: [EncodedChange] = [
            Self.article(1, [1, 2, 3]), .tombstone(revision: 2, id: "gone"), Self.article(3, Array(repeating: 7, count: 1_200)),
            Self.article(4, []),
        ]
        let compacted = EncodedChange.assemble(changes)
        #expect(compacted == Self.expected(changes))
        #expect(zip(changes, compacted).allSatisfy { $0.payloadSize == ChangeEncoder.payloadSize(of: $1) })
        let capacities = Set(compacted.compactMap { change -> Int? in
            guard case .article(let article) = change else { return nil }
            return article.data.storageCapacity
        })
        #expect(capacities.count == 1, "one shared buffer, not one per document")
    }

    @Test func aBatchOfTombstonesIsLeftAsItIs() {
        let changes: [EncodedChange] = [.tombstone(revision: 1, id: "x"), .tombstone(revision: 2, id: "y")]
        #expect(EncodedChange.assemble(changes) == Self.expected(changes))
    }
}
