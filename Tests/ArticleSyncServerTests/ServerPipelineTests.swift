import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import NIOEmbedded
import Testing

@Suite("the server pipeline in an EmbeddedChannel")
struct ServerPipelineTests {
    @Test func theTransportSnifferAnswersInFrontOfTheConversationWithoutPassingBytesOn() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TransportSniffingHandler(tlsContext: nil))
        try channel.pipeline.syncOperations.addHandler(ServerFrameHandler(metrics: ServerMetrics()))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01]))
        let frame = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let message = try ServerMessage(frameBytes: frame)
        guard case .error(let error) = message else { Issue.record("expected ERROR, got \(message)"); return }
        #expect(error.code == .malformedFrame)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(!channel.isActive)
    }
}
