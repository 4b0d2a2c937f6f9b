import ArticleSyncProtocol
import NIOCore
import NIOEmbedded
import Testing

@Suite struct CodecHandlerTests {
    static func clientChannel(compressesPush: Bool = true) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addArticleSyncClientCodec(compressesPush: compressesPush)
        return channel
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
