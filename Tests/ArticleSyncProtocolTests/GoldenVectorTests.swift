import ArticleModel
import ArticleSyncProtocol
import Foundation
import NIOCore
import Testing
import Zlib

/// Every file in Protocol/vectors (written by scripts/gen-vectors.py straight from PROTOCOL.md)
/// decodes to the value built here, and that value encodes back to the identical bytes.
@Suite struct GoldenVectorTests {
    static let storeID = StoreID(bytes: [UInt8](hex: "5f0c3a1e9b7d4c2a8e6f1d0b3c5a7e92"))!
    static let digest = SHA256Hash(bytes: [UInt8](hex: "3424886b29ae65e6f6ac49356907401f140682813694007c886a8368c7c726c9"))!

    // §7.1 sources and §7.2 documents of the articles in the vectors, rebuilt here independently.
    static let sourceA = Array(
        ("Veröffentlichungsdatum: 10.04.2025 21:17 / Welt Nachrichten\n\nGespräche in Istanbul\n\nGespräche in Istanbul"
            + "\n\nDie Delegationen trafen sich am Donnerstag.\n\nEin weiteres Treffen ist geplant.").utf8)
    static let sourceB = Array(
        "Veröffentlichungsdatum: 01.03.2025 08:05 / Wirtschaft\r\n\r\nZinsen steigen\r\n\r\nDie Notenbank hob den Leitzins an.\r\n"
            .utf8)
    static let sourceCOld = Array(
        "Veröffentlichungsdatum: 11.04.2025 06:30 / Wetter\n\nSturmwarnung\n\nSturmwarnung\n\nDer Wetterdienst erwartet Sturm im Norden."
            .utf8)
    static let dictionary = Array(
        "Veröffentlichungsdatum: / Welt Nachrichten Wirtschaft Politik Die Bundesregierung teilte am Donnerstag mit, dass "
            .utf8)

    static func document(
        _ y: UInt16, _ mo: UInt8, _ d: UInt8, _ h: UInt8, _ mi: UInt8, category: String, title: String, body: String,
        source: [UInt8]? = nil
    ) -> [UInt8] {
        var out = Bytes()
        out.u8(1)
        out.u8(source == nil ? 0 : 1)
        out.u16(y)
        out.u8(mo)
        out.u8(d)
        out.u8(h)
        out.u8(mi)
        out.str16(category)
        out.str16(title)
        out.u32(UInt32(body.utf8.count))
        out.raw(Array(body.utf8))
        if let source {
            out.u32(UInt32(source.count))
            out.raw(source)
        }
        return out.bytes
    }

    static let documentA = document(
        2025, 4, 10, 21, 17, category: "Welt Nachrichten", title: "Gespräche in Istanbul",
        body: "Die Delegationen trafen sich am Donnerstag.\n\nEin weiteres Treffen ist geplant.")
    static let documentB = document(
        2025, 3, 1, 8, 5, category: "Wirtschaft", title: "Zinsen steigen", body: "Die Notenbank hob den Leitzins an.",
        source: sourceB)
    static let documentC = document(
        2025, 4, 11, 6, 30, category: "Wetter", title: "Sturmwarnung",
        body: "Der Wetterdienst erwartet Sturm im Norden.\n\nAm Abend soll der Wind nachlassen.")

    static func hash(_ hex: String) -> SHA256Hash { SHA256Hash(bytes: [UInt8](hex: hex))! }

    // The articles of 22-batch-zlib-dictionary.bin and 23-batch-delta-long-base.bin.
    static let documentD = document(
        2025, 4, 12, 9, 0, category: "Welt Nachrichten", title: "Gespräche gehen weiter",
        body: "Die Bundesregierung teilte am Donnerstag mit, dass die Gespräche weitergehen.")
    static let paragraphsEOld = (1...500).map { "Absatz \($0): Der Haushaltsausschuss beriet bis in die Nacht über die Vorlage." }
    static let sourceEOld = Array(
        ("Veröffentlichungsdatum: 13.04.2025 18:45 / Politik\n\nHaushaltsdebatte\n\nHaushaltsdebatte\n\n"
            + paragraphsEOld.joined(separator: "\n\n")).utf8)
    static let documentE = document(
        2025, 4, 13, 18, 45, category: "Politik", title: "Haushaltsdebatte",
        body: (paragraphsEOld + ["Am Morgen wurde die Sitzung vertagt."]).joined(separator: "\n\n"))

    static func dictionaryBatch() throws -> Batch {
        let data = try Zlib.deflate(documentD, level: 9, dictionary: dictionary)
        return Batch(fromRevision: 47, toRevision: 48, changes: [
            .article(ArticleChange(
                revision: 48, id: "gespraeche-gehen-weiter",
                contentHash: hash("f0392330df1e16219183796f8cdfd61adbe3fd36ac9f134b6651e50fa75f73e8"),
                encoding: .zlib, documentLength: UInt32(documentD.count), data: ByteBuffer(bytes: data)))
        ])
    }

    static func longBaseBatch() throws -> Batch {
        let data = try Zlib.deflate(documentE, level: 9, dictionary: sourceEOld)
        return Batch(fromRevision: 48, toRevision: 49, changes: [
            .article(ArticleChange(
                revision: 49, id: "haushaltsdebatte",
                contentHash: hash("32bae95d18cbce81bec1ad9aba69dfab56c06d2a769791a0fa274b609ee43d13"),
                encoding: .delta(baseHash: hash("01360676e25825199e02141ba952bb370fbd7ad45a85fdeb11b8fc99ffb78844")),
                documentLength: UInt32(documentE.count), data: ByteBuffer(bytes: data)))
        ])
    }

    static let push = Push(entries: [
        PushEntry(id: "gespraeche-istanbul", expectedRevision: 0, operation: .put(source: ByteBuffer(bytes: sourceA))),
        PushEntry(id: "alte-meldung", expectedRevision: 17, operation: .delete),
        PushEntry(id: "zinsen", expectedRevision: PushEntry.anyRevision, operation: .put(source: ByteBuffer(bytes: sourceB))),
    ])

    static func batch() throws -> Batch {
        // Level 9 with the Zlib wrapper's memLevel 9, as the generator documents.
        let zlibB = try Zlib.deflate(documentB, level: 9)
        let deltaC = try Zlib.deflate(documentC, level: 9, dictionary: sourceCOld)
        return Batch(
            fromRevision: 40, toRevision: 47,
            changes: [
                .article(
                    ArticleChange(
                        revision: 41, id: "gespraeche-istanbul",
                        contentHash: hash("3d741102a0d7e2751bbd11fb7ae33db41978a747bd84d04d5856f37cd429e17b"),
                        encoding: .raw, documentLength: UInt32(documentA.count), data: ByteBuffer(bytes: documentA))),
                .article(
                    ArticleChange(
                        revision: 43, id: "zinsen",
                        contentHash: hash("24c6c1fcee667ebead8407b1a9994ea4b3c8b461fda18934692f795ff94ba0b8"),
                        encoding: .zlib, documentLength: UInt32(documentB.count), data: ByteBuffer(bytes: zlibB))),
                .article(
                    ArticleChange(
                        revision: 45, id: "sturmwarnung",
                        contentHash: hash("b23b808e39bc2c54dec261b9e91e4e5dbcbd4d4eed564148248af67e6622f479"),
                        encoding: .delta(baseHash: hash("3b2ddce30aa780499202ad9893910a3630326e8ac0f3974d5b4f154781fde06b")),
                        documentLength: UInt32(documentC.count), data: ByteBuffer(bytes: deltaC))),
                .tombstone(revision: 47, id: "alte-meldung"),
            ])
    }

    enum Expected {
        case client(ClientMessage, compressed: Bool = false, roundTrip: Bool = true)
        case server(ServerMessage, compressed: Bool = false)
    }

    static func expectations() throws -> [(file: String, expected: Expected)] {
        let errorText = "frame of 4294967295 bytes exceeds the limit of 16777216 bytes"
        return [
            ("01-hello.bin", .client(.hello(Hello(features: [.dictionary, .delta], agent: "articlesync/1.0")))),
            (
                "02-hello-token-trailing.bin",
                .client(
                    .hello(
                        Hello(
                            minVersion: 1, maxVersion: 3, features: Features(rawValue: 0x8000_0000_0000_0001),
                            token: "tok_3f9a", agent: "pyclient/0.1")), roundTrip: false)
            ),
            ("03-pull-bootstrap.bin", .client(.pull(Pull(storeID: .none, sinceRevision: 0)))),
            (
                "04-pull-resume.bin",
                .client(
                    .pull(Pull(storeID: storeID, sinceRevision: 42, budget: 65536, waitMillis: 30000, flags: .acceptDeltas)))
            ),
            ("05-push.bin", .client(.push(push))),
            ("06-push-compressed.bin", .client(.push(push), compressed: true)),
            ("07-verify-head.bin", .client(.verify(atRevision: VerifyResult.headRevision))),
            ("08-verify-at-revision.bin", .client(.verify(atRevision: 42))),
            ("09-get-dictionary.bin", .client(.getDictionary(id: Zlib.adler32(dictionary)))),
            ("10-ping.bin", .client(.ping(nonce: 0x0123_4567_89AB_CDEF))),
            ("11-ping-compressed.bin", .client(.ping(nonce: 7), compressed: true)),
            ("12-pong.bin", .client(.pong(nonce: 0x0123_4567_89AB_CDEF))),
            ("13-error.bin", .client(.error(ErrorMessage(code: .frameTooLarge, message: errorText)))),
            (
                "14-welcome.bin",
                .server(
                    .welcome(
                        Welcome(
                            version: 1, features: [.dictionary, .delta], storeID: storeID, headRevision: 47, horizon: 12,
                            maxFrameLength: 16_777_216, role: .write, agent: "articlesyncd/1.0")))
            ),
            ("15-batch.bin", .server(.batch(try batch()))),
            ("16-caught-up.bin", .server(.caughtUp(headRevision: 47))),
            (
                "17-snapshot-required.bin",
                .server(
                    .snapshotRequired(
                        SnapshotRequired(
                            reason: .belowHorizon, storeID: storeID, headRevision: 47, horizon: 12,
                            message: "revision 5 is below the horizon 12: pull again from revision 0")))
            ),
            (
                "18-push-result.bin",
                .server(
                    .pushResult(
                        PushResult(
                            headRevision: 48,
                            results: [
                                .init(status: .applied, revision: 48),
                                .init(status: .unchanged, revision: 30, message: "unchanged"),
                                .init(status: .conflict, revision: 21, message: "expected revision 3, the article is at 21"),
                                .init(status: .invalid, revision: 0, message: "line 1: no date line"),
                                .init(status: .notFound, revision: 0, message: "no live article \"weg\""),
                            ])))
            ),
            (
                "19-verify-result.bin",
                .server(.verifyResult(VerifyResult(status: .ok, revision: 42, articleCount: 1234, digest: digest)))
            ),
            (
                "20-verify-result-below-horizon.bin",
                .server(.verifyResult(VerifyResult(status: .belowHorizon, revision: 47, articleCount: 0, digest: .zero)))
            ),
            (
                "21-dictionary.bin",
                .server(.dictionary(StoreDictionary(id: Zlib.adler32(dictionary), bytes: ByteBuffer(bytes: dictionary))))
            ),
            ("22-batch-zlib-dictionary.bin", .server(.batch(try dictionaryBatch()))),
            ("23-batch-delta-long-base.bin", .server(.batch(try longBaseBatch()))),
            (
                "24-snapshot-required-store-mismatch.bin",
                .server(.snapshotRequired(SnapshotRequired(
                    reason: .storeMismatch, storeID: storeID, headRevision: 47, horizon: 12,
                    message: "this replica belongs to another store: pull again from revision 0")))
            ),
            (
                "25-snapshot-required-ahead-of-server.bin",
                .server(.snapshotRequired(SnapshotRequired(
                    reason: .aheadOfServer, storeID: storeID, headRevision: 47, horizon: 12,
                    message: "revision 60 is ahead of the head 47: the store was restored from an older copy")))
            ),
            (
                "27-batch-source-path.bin",
                .server(.batch(Batch(fromRevision: 49, toRevision: 51, changes: [
                    .article(ArticleChange(
                        revision: 50, id: "gespraeche-istanbul",
                        contentHash: hash("3d741102a0d7e2751bbd11fb7ae33db41978a747bd84d04d5856f37cd429e17b"),
                        encoding: .raw, documentLength: UInt32(documentA.count), data: ByteBuffer(bytes: documentA),
                        sourcePath: "welt/gespräche/gespraeche-istanbul.txt")),
                    .tombstone(revision: 51, id: "zinsen"),
                ])))
            ),
            (
                "26-verify-result-digest.bin",
                .server(.verifyResult(VerifyResult(
                    status: .ok, revision: 49, articleCount: 5,
                    digest: hash("3ca705e23bef5057436a74fe8d25ee8036bd3de8ad09671da27ec0b17859621f"))))
            ),
        ]
    }

    static let files: [String] = (try? expectations().map(\.file)) ?? []

    @Test(arguments: files)
    func vectorDecodesToItsValueAndEncodesBackToTheSameBytes(file: String) throws {
        let bytes = try vectorBytes(file)
        let expected = try #require(try Self.expectations().first { $0.file == file }).expected
        var encoded = ByteBuffer()
        switch expected {
        case .client(let message, let compressed, let roundTrip):
            let frame = try Frame(completeBytes: bytes)
            #expect(frame.wasCompressed == compressed)
            #expect(try ClientMessage(frame: frame) == message)
            message.encode(into: &encoded, compress: compressed)
            if roundTrip {
                #expect(encoded == bytes, "\(hexString(encoded.readableBytesView)) != \(hexString(bytes.readableBytesView))")
            } else {
                // Re-encoding drops what version 1 ignores; the result still decodes to the same value.
                #expect(try ClientMessage(frameBytes: encoded) == message)
            }
        case .server(let message, let compressed):
            let frame = try Frame(completeBytes: bytes)
            #expect(frame.wasCompressed == compressed)
            #expect(try ServerMessage(frame: frame) == message)
            message.encode(into: &encoded, compress: compressed)
            #expect(encoded == bytes, "\(hexString(encoded.readableBytesView)) != \(hexString(bytes.readableBytesView))")
        }
    }

    @Test func manifestListsEveryVectorFileWithItsTypeAndFlags() throws {
        let data = try Data(contentsOf: vectorsDirectory.appendingPathComponent("manifest.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let vectors = try #require(manifest["vectors"] as? [[String: Any]])
        let negatives = try #require(manifest["negative"] as? [[String: Any]])
        let listed = vectors.compactMap { $0["file"] as? String }
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: vectorsDirectory.path)
            .filter { $0.hasSuffix(".bin") }
        #expect(Set(listed + negatives.compactMap { $0["file"] as? String }) == Set(onDisk))
        #expect(Set(listed) == Set(Self.files), "every vector has a Swift expectation")
        for vector in vectors {
            let file = try #require(vector["file"] as? String)
            let bytes = try vectorBytes(file)
            let type = try #require(bytes.getInteger(at: 4, as: UInt8.self))
            let flags = try #require(bytes.getInteger(at: 5, as: UInt8.self))
            #expect(vector["type"] as? String == String(format: "0x%02X", type), "\(file)")
            #expect(vector["flags"] as? String == String(format: "0x%02X", flags), "\(file)")
        }
        // Every message type of §5 has at least one vector.
        let types = Set(vectors.compactMap { $0["type"] as? String })
        #expect(types == Set(MessageType.allCases.map { String(format: "0x%02X", $0.rawValue) }))
    }

    @Test func articleDataInTheBatchVectorInflatesToTheDocuments() throws {
        let bytes = try vectorBytes("15-batch.bin")
        guard case .batch(let batch) = try ServerMessage(frameBytes: bytes) else {
            Issue.record("15-batch.bin is not a BATCH")
            return
        }
        guard case .article(let zlibArticle) = batch.changes[1], case .article(let deltaArticle) = batch.changes[2] else {
            Issue.record("unexpected changes \(batch.changes)")
            return
        }
        let zlibData = Array(zlibArticle.data.readableBytesView)
        #expect(try Zlib.inflate(zlibData, exactLength: Int(zlibArticle.documentLength), maxLength: 1 << 20) == Self.documentB)
        let deltaData = Array(deltaArticle.data.readableBytesView)
        #expect(Zlib.dictionaryID(of: deltaData) == Zlib.adler32(Self.sourceCOld))
        let inflated = try Zlib.inflate(deltaData, exactLength: Int(deltaArticle.documentLength), maxLength: 1 << 20) { _ in
            Self.sourceCOld
        }
        #expect(inflated == Self.documentC)
    }

    @Test func aDictionaryArticleNamesTheStoreDictionaryAndInflatesWithIt() throws {
        let batch = try Self.dictionaryBatch()
        guard case .article(let article) = batch.changes[0] else { Issue.record("no article"); return }
        let data = Array(article.data.readableBytesView)
        #expect(Zlib.dictionaryID(of: data) == Zlib.adler32(Self.dictionary))
        let inflated = try Zlib.inflate(data, exactLength: Int(article.documentLength), maxLength: 1 << 20) { _ in Self.dictionary }
        #expect(inflated == Self.documentD)
    }

    @Test func aDeltaOverALongBaseNeedsTheWholeBaseAsItsDictionary() throws {
        // §7.4: DICTID is the Adler-32 of the whole base; zlib refuses a trimmed one.
        #expect(Self.sourceEOld.count > 32_768)
        let batch = try Self.longBaseBatch()
        guard case .article(let article) = batch.changes[0] else { Issue.record("no article"); return }
        let data = Array(article.data.readableBytesView)
        #expect(Zlib.dictionaryID(of: data) == Zlib.adler32(Self.sourceEOld))
        let inflated = try Zlib.inflate(data, exactLength: Int(article.documentLength), maxLength: 1 << 20) { _ in Self.sourceEOld }
        #expect(inflated == Self.documentE)
        let trimmed = Array(Self.sourceEOld.suffix(32_768))
        #expect(throws: Zlib.Error.self) {
            try Zlib.inflate(data, exactLength: Int(article.documentLength), maxLength: 1 << 20) { _ in trimmed }
        }
    }
}
