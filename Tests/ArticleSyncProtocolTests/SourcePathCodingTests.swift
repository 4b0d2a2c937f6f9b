import ArticleModel
@testable import ArticleSyncProtocol
import NIOCore
import Testing

/// ARTICLE_WITH_PATH (PROTOCOL.md §5.4): the path travels only as kind 3, and a path the layout
/// forbids is refused before anything is made of it.
@Suite("BATCH source paths")
struct SourcePathCodingTests {
    static let hash = SHA256Hash(bytes: [UInt8](repeating: 7, count: 32))!

    static func change(_ path: String?) -> Change {
        .article(ArticleChange(
            revision: 2, id: "abc", contentHash: hash, encoding: .raw, documentLength: 3, data: ByteBuffer(bytes: [1, 2, 3]), sourcePath: path))
    }

    /// The payload of BATCH (1, 2] holding one change written by hand: kind, revision, id, then
    /// `path` as str16 (its length given), then the article's fields.
    static func payload(kind: UInt8, pathLength: Int?, path: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt64(1))
        buffer.writeInteger(UInt64(2))
        buffer.writeInteger(UInt32(1))
        buffer.writeInteger(kind)
        buffer.writeInteger(UInt64(2))
        buffer.writeInteger(UInt8(3))
        buffer.writeString("abc")
        if let pathLength {
            buffer.writeInteger(UInt16(pathLength))
            buffer.writeBytes(path)
        }
        buffer.writeBytes(hash.bytes)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(3))
        buffer.writeInteger(UInt32(3))
        buffer.writeBytes([1, 2, 3])
        return buffer
    }

    static func decode(_ payload: ByteBuffer) throws(ProtocolError) -> Batch {
        var reader = PayloadReader(payload, message: .batch)
        return try Batch(payload: &reader)
    }

    @Test func anArticleWithoutAPathIsKindOneAndWithAPathKindThree() throws {
        for (path, kind) in [(nil, UInt8(1)), ("ab/abc.txt", UInt8(3))] as [(String?, UInt8)] {
            var buffer = ByteBuffer()
            Batch(fromRevision: 1, toRevision: 2, changes: [Self.change(path)]).writePayload(into: &buffer)
            #expect(buffer.getInteger(at: 20, as: UInt8.self) == kind)
            #expect(try Self.decode(buffer) == Batch(fromRevision: 1, toRevision: 2, changes: [Self.change(path)]))
        }
    }

    @Test func emptyOverlongOrInvalidPathsAreMalformed() {
        let cases: [(String, ByteBuffer)] = [
            ("empty", Self.payload(kind: 3, pathLength: 0, path: [])),
            ("4,097 bytes", Self.payload(kind: 3, pathLength: 4_097, path: [UInt8](repeating: 0x61, count: 4_097))),
            ("not UTF-8", Self.payload(kind: 3, pathLength: 2, path: [0xC3, 0x28])),
            ("cut short", Self.payload(kind: 3, pathLength: 200, path: Array("ab/abc.txt".utf8))),
        ]
        for (what, payload) in cases {
            #expect(throws: ProtocolError.self, "\(what)") { try Self.decode(payload) }
        }
        let longest = String(repeating: "a", count: 4_092) + ".txt"
        #expect((try? Self.decode(Self.payload(kind: 3, pathLength: 4_096, path: Array(longest.utf8)))) != nil)
    }
}
