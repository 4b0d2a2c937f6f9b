import ArticleModel
import ArticleSyncProtocol
import NIOCore
import Testing

/// Payloads that pass the frame layer but break their message's layout (§3 rule 4, §5).
@Suite struct MessageDecodingTests {
    static func client(_ type: MessageType, _ payload: [UInt8]) throws(ProtocolError) -> ClientMessage {
        try ClientMessage(frame: Frame(type: type, payload: ByteBuffer(bytes: payload)))
    }

    static func server(_ type: MessageType, _ payload: [UInt8]) throws(ProtocolError) -> ServerMessage {
        try ServerMessage(frame: Frame(type: type, payload: ByteBuffer(bytes: payload)))
    }

    static func hello(magic: String = "ASYN", min: UInt16 = 1, max: UInt16 = 1, token: String = "", agent: String = "t") -> Bytes {
        var b = Bytes()
        b.raw(Array(magic.utf8))
        b.u16(min)
        b.u16(max)
        b.u64(0)
        b.str16(token)
        b.str8(agent)
        return b
    }

    // MARK: direction

    @Test func serverTypeFromAClientIsUnexpected() {
        for type in MessageType.allCases where !type.isSentByClient {
            expectProtocolError(.unexpectedMessage) { _ = try Self.client(type, [0, 0, 0, 0, 0, 0, 0, 0]) }
        }
    }

    @Test func clientTypeFromAServerIsUnexpected() {
        for type in MessageType.allCases where !type.isSentByServer {
            expectProtocolError(.unexpectedMessage) { _ = try Self.server(type, Array(Self.hello().bytes)) }
        }
    }

    // MARK: exact consumption

    @Test func truncatedPayloadIsMalformed() throws {
        let file = try vectorBytes("04-pull-resume.bin")
        let frame = try Frame(completeBytes: file)
        var payload = frame.payload
        let short = payload.readBytes(length: payload.readableBytes - 1)!
        let error = expectProtocolError(.malformedFrame) { _ = try Self.client(.pull, short) }
        #expect(error?.message.contains("flags") == true, "the message names the missing field: \(String(describing: error))")
    }

    @Test func trailingBytesAreMalformedForEveryTypeButHello() throws {
        let files = [
            "03-pull-bootstrap.bin", "05-push.bin", "07-verify-head.bin", "09-get-dictionary.bin", "10-ping.bin", "12-pong.bin",
            "13-error.bin",
        ]
        for file in files {
            let frame = try Frame(completeBytes: try vectorBytes(file))
            let padded = Array(frame.payload.readableBytesView) + [0]
            expectProtocolError(.malformedFrame) { _ = try Self.client(frame.type, padded) }
        }
        let serverFiles = [
            "14-welcome.bin", "15-batch.bin", "16-caught-up.bin", "17-snapshot-required.bin", "18-push-result.bin",
            "19-verify-result.bin", "21-dictionary.bin",
        ]
        for file in serverFiles {
            let frame = try Frame(completeBytes: try vectorBytes(file))
            let padded = Array(frame.payload.readableBytesView) + [0]
            expectProtocolError(.malformedFrame) { _ = try Self.server(frame.type, padded) }
        }
    }

    @Test func helloIgnoresTrailingBytes() throws {
        var hello = Self.hello(agent: "x")
        hello.raw([1, 2, 3])
        #expect(try Self.client(.hello, hello.bytes) == .hello(Hello(features: [], agent: "x")))
    }

    // MARK: HELLO

    @Test func helloWithoutMagicIsBadMagic() {
        expectProtocolError(.badMagic) { _ = try Self.client(.hello, Self.hello(magic: "HTTP").bytes) }
        expectProtocolError(.badMagic) { _ = try Self.client(.hello, Array("GET / HTTP/1.1".utf8)) }
    }

    @Test func helloCutInsideTheMagicIsMalformed() {
        expectProtocolError(.malformedFrame) { _ = try Self.client(.hello, Array("ASY".utf8)) }
    }

    @Test func helloWithAnInvertedOrZeroVersionRangeIsMalformed() {
        expectProtocolError(.malformedFrame) { _ = try Self.client(.hello, Self.hello(min: 2, max: 1).bytes) }
        expectProtocolError(.malformedFrame) { _ = try Self.client(.hello, Self.hello(min: 0, max: 1).bytes) }
    }

    @Test func tokenAbove1024BytesIsMalformed() throws {
        let token = String(repeating: "t", count: 1025)
        expectProtocolError(.malformedFrame) { _ = try Self.client(.hello, Self.hello(token: token).bytes) }
        let maximal = String(repeating: "t", count: 1024)
        #expect(try Self.client(.hello, Self.hello(token: maximal).bytes) == .hello(Hello(features: [], token: maximal, agent: "t")))
    }

    @Test func invalidUTF8IsMalformed() {
        var hello = Self.hello()
        hello.bytes.removeLast(2)  // agent "t"
        hello.u8(2)
        hello.raw([0xC3, 0x28])  // a lead byte followed by a non-continuation byte
        expectProtocolError(.malformedFrame) { _ = try Self.client(.hello, hello.bytes) }

        var error = Bytes()
        error.u16(1)
        error.u16(3)
        error.raw([0xED, 0xA0, 0x80])  // an encoded surrogate
        expectProtocolError(.malformedFrame) { _ = try Self.client(.error, error.bytes) }
    }

    // MARK: PULL

    @Test func pullWithReservedFlagBitsIsMalformed() {
        var pull = Bytes()
        pull.raw([UInt8](repeating: 0, count: 16))
        pull.u64(0)
        pull.u32(0)
        pull.u32(0)
        pull.u8(0x03)
        expectProtocolError(.malformedFrame) { _ = try Self.client(.pull, pull.bytes) }
    }

    // MARK: PUSH

    static func pushDelete(count: UInt32, entries: Int, id: String = "a") -> [UInt8] {
        var push = Bytes()
        push.u32(count)
        for _ in 0..<entries {
            push.u8(2)
            push.str8(id)
            push.u64(0)
        }
        return push.bytes
    }

    @Test func pushCountAbove10000IsRequestTooLargeAndNotFatal() {
        let error = expectProtocolError(.requestTooLarge) { _ = try Self.client(.push, Self.pushDelete(count: 10_001, entries: 10_001)) }
        #expect(error?.isFatal == false)
        // Refused from the count alone: the entries need not even be there.
        expectProtocolError(.requestTooLarge) { _ = try Self.client(.push, Self.pushDelete(count: .max, entries: 0)) }
    }

    @Test func pushWithZeroEntriesIsRequestTooLarge() {
        expectProtocolError(.requestTooLarge) { _ = try Self.client(.push, Self.pushDelete(count: 0, entries: 0)) }
    }

    @Test func pushOf10000EntriesIsAccepted() throws {
        guard case .push(let push) = try Self.client(.push, Self.pushDelete(count: 10_000, entries: 10_000)) else {
            Issue.record("not a PUSH")
            return
        }
        #expect(push.entries.count == 10_000)
    }

    @Test func pushCountLargerThanThePayloadCanHoldIsMalformedBeforeAllocating() {
        expectProtocolError(.malformedFrame) { _ = try Self.client(.push, Self.pushDelete(count: 10_000, entries: 2)) }
    }

    @Test func pushWithAnEmptyIdIsMalformed() {
        var push = Bytes()
        push.u32(1)
        push.u8(2)
        push.u8(0)
        push.u64(0)
        expectProtocolError(.malformedFrame) { _ = try Self.client(.push, push.bytes) }
    }

    @Test func pushWithAnUnknownOpIsMalformed() {
        var push = Bytes()
        push.u32(1)
        push.u8(3)
        push.str8("a")
        push.u64(0)
        expectProtocolError(.malformedFrame) { _ = try Self.client(.push, push.bytes) }
    }

    @Test func pushSourceOutsideItsBoundsIsMalformed() {
        for length in [UInt32(0), ProtocolLimits.maxSourceLength + 1] {
            var push = Bytes()
            push.u32(1)
            push.u8(1)
            push.str8("a")
            push.u64(0)
            push.u32(length)
            expectProtocolError(.malformedFrame) { _ = try Self.client(.push, push.bytes) }
        }
    }

    @Test func pushSourceLongerThanThePayloadIsMalformed() {
        var push = Bytes()
        push.u32(1)
        push.u8(1)
        push.str8("a")
        push.u64(0)
        push.u32(ProtocolLimits.maxSourceLength)
        push.raw(Array("short".utf8))
        expectProtocolError(.malformedFrame) { _ = try Self.client(.push, push.bytes) }
    }

    @Test func pushIdWithForbiddenCharactersIsLeftToTheServer() throws {
        // §5.7: an invalid id is an INVALID result for that entry, not a broken frame.
        guard case .push(let push) = try Self.client(.push, Self.pushDelete(count: 1, entries: 1, id: "../etc")) else {
            Issue.record("not a PUSH")
            return
        }
        #expect(push.entries.first?.id == "../etc")
    }

    // MARK: ERROR

    @Test func errorMessageAbove1024BytesIsMalformed() {
        var error = Bytes()
        error.u16(1)
        error.str16(String(repeating: "e", count: 1025))
        expectProtocolError(.malformedFrame) { _ = try Self.client(.error, error.bytes) }
    }

    @Test func errorWithACodeFromALaterVersionKeepsTheCodeAndIsFatal() throws {
        var error = Bytes()
        error.u16(999)
        error.str16("new")
        guard case .error(let message) = try Self.server(.error, error.bytes) else {
            Issue.record("not an ERROR")
            return
        }
        #expect(message.rawCode == 999)
        #expect(message.code == nil)
        #expect(message.isFatal)
    }

    @Test func encodingCutsALongErrorMessageAtACharacterBoundary() throws {
        let long = String(repeating: "ä", count: 600)  // 1,200 bytes
        var encoded = ByteBuffer()
        ServerMessage.error(ErrorMessage(code: .internalError, message: long)).encode(into: &encoded)
        guard case .error(let message) = try ServerMessage(frameBytes: encoded) else {
            Issue.record("not an ERROR")
            return
        }
        #expect(message.message == String(repeating: "ä", count: 512))
    }

    // MARK: server messages

    @Test func undefinedEnumValuesAreMalformed() throws {
        var welcome = try Frame(completeBytes: try vectorBytes("14-welcome.bin")).payload
        welcome.setInteger(UInt8(3), at: 2 + 8 + 16 + 8 + 8 + 4)  // role
        expectProtocolError(.malformedFrame) { _ = try Self.server(.welcome, Array(welcome.readableBytesView)) }

        var snapshot = try Frame(completeBytes: try vectorBytes("17-snapshot-required.bin")).payload
        snapshot.setInteger(UInt8(0), at: 0)  // reason
        expectProtocolError(.malformedFrame) { _ = try Self.server(.snapshotRequired, Array(snapshot.readableBytesView)) }

        var result = try Frame(completeBytes: try vectorBytes("19-verify-result.bin")).payload
        result.setInteger(UInt8(3), at: 0)  // status
        expectProtocolError(.malformedFrame) { _ = try Self.server(.verifyResult, Array(result.readableBytesView)) }

        var pushResult = try Frame(completeBytes: try vectorBytes("18-push-result.bin")).payload
        pushResult.setInteger(UInt8(5), at: 12)  // first status
        expectProtocolError(.malformedFrame) { _ = try Self.server(.pushResult, Array(pushResult.readableBytesView)) }
    }

    @Test func dictionaryLengthOutsideItsBoundsIsMalformed() {
        for length in [UInt32(0), ProtocolLimits.maxDictionaryLength + 1] {
            var dictionary = Bytes()
            dictionary.u32(1)
            dictionary.u32(length)
            dictionary.raw([UInt8](repeating: 0x41, count: Int(length)))
            expectProtocolError(.malformedFrame) { _ = try Self.server(.dictionary, dictionary.bytes) }
        }
    }

    // MARK: BATCH

    static func batch(from: UInt64, to: UInt64, revisions: [UInt64], count: UInt32? = nil, id: String = "a") -> [UInt8] {
        var batch = Bytes()
        batch.u64(from)
        batch.u64(to)
        batch.u32(count ?? UInt32(revisions.count))
        for revision in revisions {
            batch.u8(2)
            batch.u64(revision)
            batch.str8(id)
        }
        return batch.bytes
    }

    static func article(encoding: UInt8, documentLength: UInt32, dataLength: UInt32, data: [UInt8]) -> [UInt8] {
        var batch = Bytes()
        batch.u64(0)
        batch.u64(1)
        batch.u32(1)
        batch.u8(1)
        batch.u64(1)
        batch.str8("a")
        batch.raw([UInt8](repeating: 0xAB, count: 32))
        batch.u8(encoding)
        if encoding == 2 { batch.raw([UInt8](repeating: 0xCD, count: 32)) }
        batch.u32(documentLength)
        batch.u32(dataLength)
        batch.raw(data)
        return batch.bytes
    }

    @Test func batchWithinItsRangeAndIncreasingIsAccepted() throws {
        guard case .batch(let batch) = try Self.server(.batch, Self.batch(from: 5, to: 9, revisions: [6, 8, 9])) else {
            Issue.record("not a BATCH")
            return
        }
        #expect(batch.changes.map(\.revision) == [6, 8, 9])
    }

    @Test func batchWithoutChangesIsMalformed() {
        expectProtocolError(.malformedFrame) { _ = try Self.server(.batch, Self.batch(from: 5, to: 9, revisions: [])) }
    }

    @Test func batchRevisionsOutsideTheRangeOrOutOfOrderAreMalformed() {
        let broken: [(UInt64, UInt64, [UInt64])] = [
            (5, 9, [5, 9]),  // at the exclusive lower bound
            (5, 9, [6, 10]),  // above toRevision
            (5, 9, [8, 7, 9]),  // decreasing
            (5, 9, [7, 7, 9]),  // repeated
            (5, 9, [6, 8]),  // last change is not toRevision
            (9, 9, [9]),  // empty range
        ]
        for (from, to, revisions) in broken {
            expectProtocolError(.malformedFrame) { _ = try Self.server(.batch, Self.batch(from: from, to: to, revisions: revisions)) }
        }
    }

    @Test func batchCountLargerThanThePayloadCanHoldIsMalformed() {
        expectProtocolError(.malformedFrame) {
            _ = try Self.server(.batch, Self.batch(from: 0, to: 1, revisions: [1], count: .max))
        }
    }

    @Test func batchIdThatSection71ForbidsIsMalformed() {
        for id in ["../x", "a/b", "a\\b", ".hidden", "tab\there", "del\u{7F}"] {
            expectProtocolError(.malformedFrame) { _ = try Self.server(.batch, Self.batch(from: 0, to: 1, revisions: [1], id: id)) }
        }
    }

    @Test func rawArticleWhoseDataLengthDiffersFromItsDocumentLengthIsMalformed() {
        expectProtocolError(.malformedFrame) {
            _ = try Self.server(.batch, Self.article(encoding: 0, documentLength: 4, dataLength: 3, data: [1, 2, 3]))
        }
    }

    @Test func documentAboveMaxDocumentIsMalformed() {
        expectProtocolError(.malformedFrame) {
            _ = try Self.server(
                .batch, Self.article(encoding: 1, documentLength: ProtocolLimits.maxDocumentLength + 1, dataLength: 3, data: [1, 2, 3]))
        }
    }

    @Test func articleDataLongerThanThePayloadIsMalformed() {
        expectProtocolError(.malformedFrame) {
            _ = try Self.server(.batch, Self.article(encoding: 1, documentLength: 100, dataLength: 0xFFFF_FFFF, data: [1, 2, 3]))
        }
    }

    @Test func unknownEncodingIsMalformed() {
        expectProtocolError(.malformedFrame) {
            _ = try Self.server(.batch, Self.article(encoding: 3, documentLength: 3, dataLength: 3, data: [1, 2, 3]))
        }
    }

    @Test func deltaArticleCarriesItsBaseHash() throws {
        guard case .batch(let batch) = try Self.server(.batch, Self.article(encoding: 2, documentLength: 9, dataLength: 3, data: [1, 2, 3])),
            case .article(let article) = batch.changes.first
        else {
            Issue.record("not a BATCH with an article")
            return
        }
        #expect(article.encoding == .delta(baseHash: SHA256Hash(bytes: [UInt8](repeating: 0xCD, count: 32))!))
        #expect(Array(article.data.readableBytesView) == [1, 2, 3])
    }
}
