import ArticleSyncProtocol
import NIOCore
import NIOEmbedded
import Testing

@Suite struct CodecHandlerTests {
    static func serverChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addArticleSyncServerCodec()
        return channel
    }

    static func clientChannel(compressesPush: Bool = true) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addArticleSyncClientCodec(compressesPush: compressesPush)
        return channel
    }

    @Test func serverCodecDecodesClientMessagesAndEncodesServerMessages() throws {
        let channel = try Self.serverChannel()
        try channel.writeInbound(try vectorBytes("01-hello.bin"))
        #expect(try channel.readInbound(as: ClientMessage.self) == .hello(Hello(features: .all, agent: "articlesync/1.0")))

        let welcome = try vectorBytes("14-welcome.bin")
        try channel.writeOutbound(try ServerMessage(frameBytes: welcome))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == welcome)
        _ = try channel.finish()
    }

    @Test func oversizedFrameSurfacesAsProtocolErrorWithItsCode() throws {
        let channel = try Self.serverChannel()
        try channel.writeInbound(try vectorBytes("01-hello.bin"))
        _ = try channel.readInbound(as: ClientMessage.self)
        expectProtocolError(.frameTooLarge) { try channel.writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])) }
        _ = try? channel.finish()
    }

    @Test func serverRefusesAFirstMessageOtherThanHello() throws {
        let channel = try Self.serverChannel()
        expectProtocolError(.unexpectedMessage) { try channel.writeInbound(try vectorBytes("10-ping.bin")) }
        _ = try? channel.finish()
    }

    @Test func serverRefusesASecondHello() throws {
        let channel = try Self.serverChannel()
        var twice = try vectorBytes("01-hello.bin")
        var again = try vectorBytes("01-hello.bin")
        twice.writeBuffer(&again)
        expectProtocolError(.unexpectedMessage) { try channel.writeInbound(twice) }
        _ = try? channel.finish()
    }

    @Test func plainServerAnswersATLSHandshakeWithMalformedFrame() throws {
        let channel = try Self.serverChannel()
        // The start of a TLS ClientHello record.
        let error = expectProtocolError(.malformedFrame) { try channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00])) }
        #expect(error?.message.contains("does not speak TLS") == true)
        _ = try? channel.finish()
    }

    @Test func serverAnswersAnOversizedPushWithANonFatalErrorAndKeepsReading() throws {
        let channel = try Self.serverChannel()
        try channel.writeInbound(try vectorBytes("01-hello.bin"))
        _ = try channel.readInbound(as: ClientMessage.self)

        try channel.writeInbound(rawFrame(type: MessageType.push.rawValue, payload: MessageDecodingTests.pushDelete(count: 10_001, entries: 0)))
        #expect(try channel.readInbound(as: ClientMessage.self) == nil, "the PUSH never reaches the server")
        let answer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        guard case .error(let error) = try ServerMessage(frameBytes: answer) else {
            Issue.record("the answer is not an ERROR")
            return
        }
        #expect(error.code == .requestTooLarge)

        try channel.writeInbound(try vectorBytes("10-ping.bin"))
        #expect(try channel.readInbound(as: ClientMessage.self) == .ping(nonce: 0x0123_4567_89AB_CDEF))
        _ = try channel.finish()
    }

    @Test func clientCodecCompressesPushAndNothingElse() throws {
        let channel = try Self.clientChannel()
        try channel.writeOutbound(try ClientMessage(frameBytes: try vectorBytes("05-push.bin")))
        let push = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(push.getInteger(at: 5, as: UInt8.self) == FrameFlags.compressed.rawValue)
        #expect(push == (try vectorBytes("06-push-compressed.bin")))

        try channel.writeOutbound(ClientMessage.ping(nonce: 0x0123_4567_89AB_CDEF))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == (try vectorBytes("10-ping.bin")))
        _ = try channel.finish()
    }

    @Test func clientCodecCanSendPushUncompressed() throws {
        let channel = try Self.clientChannel(compressesPush: false)
        try channel.writeOutbound(try ClientMessage(frameBytes: try vectorBytes("05-push.bin")))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == (try vectorBytes("05-push.bin")))
        _ = try channel.finish()
    }

    @Test func clientCodecDecodesServerMessagesAndSurfacesErrors() throws {
        let channel = try Self.clientChannel()
        try channel.writeInbound(try vectorBytes("16-caught-up.bin"))
        #expect(try channel.readInbound(as: ServerMessage.self) == .caughtUp(headRevision: 47))
        expectProtocolError(.unexpectedMessage) { try channel.writeInbound(try vectorBytes("03-pull-bootstrap.bin")) }
        _ = try? channel.finish()
    }

    @Test func connectionClosedInsideAFrameSurfacesAsMalformedFrame() throws {
        let channel = try Self.clientChannel()
        var partial = try vectorBytes("16-caught-up.bin")
        partial.moveWriterIndex(to: partial.writerIndex - 2)
        try channel.writeInbound(partial)
        expectProtocolError(.malformedFrame) { _ = try channel.finish() }
    }
}
