import ArticleSyncProtocol
import NIOCore
import NIOTestUtils
import Testing

@Suite struct FrameDecoderTests {
    static let vectorFiles = [
        "01-hello.bin", "05-push.bin", "06-push-compressed.bin", "10-ping.bin", "11-ping-compressed.bin", "13-error.bin",
        "14-welcome.bin", "15-batch.bin", "21-dictionary.bin",
    ]

    @Test func decoderYieldsTheSameFramesByteByByteAndManyAtOnce() throws {
        // The verifier feeds each input whole, byte by byte, and all inputs concatenated.
        let pairs: [(ByteBuffer, [Frame])] = try Self.vectorFiles.map { file in
            let bytes = try vectorBytes(file)
            return (bytes, [try Frame(completeBytes: bytes)])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    /// Frames → client messages without the HELLO-first rule, which the verifier's repeated inputs
    /// would break.
    struct ClientFrameMessageDecoder: NIOSingleStepByteToMessageDecoder {
        var frames = FrameDecoder()
        mutating func decode(buffer: inout ByteBuffer) throws -> ClientMessage? {
            try frames.decodeFrame(buffer: &buffer).map { frame throws(ProtocolError) in try ClientMessage(frame: frame) }
        }
        mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ClientMessage? {
            try decode(buffer: &buffer)
        }
    }

    static let clientFiles = [
        "01-hello.bin", "03-pull-bootstrap.bin", "05-push.bin", "06-push-compressed.bin", "07-verify-head.bin",
        "11-ping-compressed.bin", "09-get-dictionary.bin", "12-pong.bin", "13-error.bin",
    ]

    @Test func clientMessagesDecodeTheSameByteByByteAndManyAtOnce() throws {
        let pairs: [(ByteBuffer, [ClientMessage])] = try Self.clientFiles.map { file in
            let bytes = try vectorBytes(file)
            return (bytes, [try ClientMessage(frameBytes: bytes)])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { ClientFrameMessageDecoder() }
    }

    @Test func serverDecoderYieldsAConversationByteByByteAndAllAtOnce() throws {
        var conversation = ByteBuffer()
        var expected = [ClientMessage]()
        for file in Self.clientFiles {
            var bytes = try vectorBytes(file)
            expected.append(try ClientMessage(frameBytes: bytes))
            conversation.writeBuffer(&bytes)
        }
        // All at once.
        let rules = FrameRules.writeSession(maxFrameLength: ProtocolLimits.maxFrameLength)
        var all = conversation
        var decoded = [ClientMessage]()
        while let frame = try FrameDecoder.split(&all, rules: rules) {
            decoded.append(try ClientMessage(frame: try frame.inflated(maxInflatedLength: rules.maxInflatedLength)))
        }
        #expect(decoded == expected)
        #expect(all.readableBytes == 0)
        // One byte at a time, as ByteToMessageHandler would accumulate them.
        var accumulated = ByteBuffer()
        var dripped = [ClientMessage]()
        for byte in conversation.readableBytesView {
            accumulated.writeInteger(byte)
            while let frame = try FrameDecoder.split(&accumulated, rules: rules) {
                dripped.append(try ClientMessage(frame: try frame.inflated(maxInflatedLength: rules.maxInflatedLength)))
            }
        }
        #expect(dripped == expected)
    }

    @Test func clientDecoderYieldsServerMessagesByteByByteAndManyAtOnce() throws {
        let files = [
            "14-welcome.bin", "15-batch.bin", "16-caught-up.bin", "17-snapshot-required.bin", "18-push-result.bin",
            "19-verify-result.bin", "21-dictionary.bin", "10-ping.bin", "13-error.bin",
        ]
        let pairs: [(ByteBuffer, [ServerMessage])] = try files.map { file in
            let bytes = try vectorBytes(file)
            return (bytes, [try ServerMessage(frameBytes: bytes)])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { ServerMessageDecoder() }
    }

    @Test func incompleteFrameIsNotConsumed() throws {
        var decoder = FrameDecoder()
        var bytes = try vectorBytes("14-welcome.bin")
        var partial = bytes.readSlice(length: bytes.readableBytes - 1)!
        #expect(try decoder.decodeFrame(buffer: &partial) == nil)
        #expect(partial.readerIndex == 0, "the reader index stays put until the whole frame is there")
    }

    @Test func lengthBelowTwoIsMalformed() {
        for length: UInt32 in [0, 1] {
            var decoder = FrameDecoder()
            var buffer = ByteBuffer(bytes: withUnsafeBytes(of: length.bigEndian, Array.init))
            expectProtocolError(.malformedFrame) { _ = try decoder.decodeFrame(buffer: &buffer) }
        }
    }

    @Test func fourGigabyteLengthIsRefusedFromTheLengthFieldAlone() {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        let error = expectProtocolError(.frameTooLarge) { _ = try decoder.decodeFrame(buffer: &buffer) }
        #expect(error?.message == "frame of 4294967295 bytes exceeds the limit of 16777216 bytes")
    }

    @Test func lengthJustAboveTheLimitIsRefusedAndTheLimitItselfIsAwaited() throws {
        var decoder = FrameDecoder(maxFrameLength: 100)
        var atLimit = rawFrame(length: 100, type: 0x10, payload: [])
        #expect(try decoder.decodeFrame(buffer: &atLimit) == nil, "a frame at the limit is waited for")
        var over = rawFrame(length: 101, type: 0x10, payload: [])
        expectProtocolError(.frameTooLarge) { _ = try decoder.decodeFrame(buffer: &over) }
    }

    @Test func theHandshakeRulesRefuseALengthOverTheHelloLimitAndAnyCompressedFrame() {
        var buffer = ByteBuffer()
        buffer.writeInteger(ProtocolLimits.maxHelloFrameLength + 1)
        expectProtocolError(.frameTooLarge) { _ = try FrameDecoder.split(&buffer, rules: .handshake(refusesTLSRecord: true)) }
        var compressed = rawFrame(length: 12, type: 0x01, flags: 0x01, payload: [])
        expectProtocolError(.malformedFrame) { _ = try FrameDecoder.split(&compressed, rules: .handshake(refusesTLSRecord: true)) }
    }

    @Test func reservedFlagBitsAreMalformedBeforeTheBodyArrives() {
        for flags: UInt8 in [0x02, 0x80, 0xFF] {
            var decoder = FrameDecoder()
            // Only the header: the length announces 10 more bytes that never come.
            var buffer = rawFrame(length: 12, type: 0x10, flags: flags, payload: [])
            expectProtocolError(.malformedFrame) { _ = try decoder.decodeFrame(buffer: &buffer) }
        }
    }

    @Test func undefinedTypeIsUnknownMessageType() {
        for type: UInt8 in [0x00, 0x06, 0x12, 0x80, 0x88, 0xFF] {
            var decoder = FrameDecoder()
            var buffer = rawFrame(type: type, payload: [0, 0, 0, 0, 0, 0, 0, 0])
            expectProtocolError(.unknownMessageType) { _ = try decoder.decodeFrame(buffer: &buffer) }
        }
    }

    @Test func lengthIsCheckedBeforeTypeAndFlags() {
        // §3: the order of checks is part of the contract.
        var decoder = FrameDecoder(maxFrameLength: 16)
        var buffer = rawFrame(length: 17, type: 0xEE, flags: 0xFE, payload: [])
        expectProtocolError(.frameTooLarge) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func connectionEndingInsideAFrameIsMalformed() throws {
        var decoder = FrameDecoder()
        var buffer = try vectorBytes("10-ping.bin")
        buffer.moveWriterIndex(to: buffer.writerIndex - 3)
        expectProtocolError(.malformedFrame) { _ = try decoder.decodeLast(buffer: &buffer, seenEOF: true) }
    }
}
