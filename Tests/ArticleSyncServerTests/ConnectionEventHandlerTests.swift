import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import NIOEmbedded
import Testing

@Suite("connection event handler and frame decoder in an EmbeddedChannel")
struct ConnectionEventHandlerTests {
    static func makeChannel(rules: FrameRules = .handshake(refusesTLSRecord: true), holdingWrites: WriteHoldingHandler? = nil) throws -> (EmbeddedChannel, FrameRulesBox) {
        let channel = EmbeddedChannel()
        let box = FrameRulesBox(rules)
        if let holdingWrites { try channel.pipeline.syncOperations.addHandler(holdingWrites) }
        try channel.pipeline.syncOperations.addArticleSyncServerCodec(rules: box)
        try channel.pipeline.syncOperations.addHandler(ConnectionEventHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
        return (channel, box)
    }

    static func bytes(_ message: ClientMessage, compressed: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.encode(into: &buffer, compress: compressed)
        return buffer
    }

    static let hello = ClientMessage.hello(Hello(features: .all, agent: "test"))

    static func frame(_ message: ClientMessage, compressed: Bool = false) throws -> Frame {
        var buffer = bytes(message, compressed: compressed)
        return try #require(try FrameDecoder.split(&buffer, rules: .writeSession(maxFrameLength: 1 << 20)))
    }

    @Test func aWholeFrameBecomesAFrameEventEvenTrickledByteByByte() throws {
        let (channel, _) = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        let bytes = Self.bytes(Self.hello)
        for index in 0..<bytes.readableBytes {
            try channel.writeInbound(bytes.getSlice(at: index, length: 1)!)
            if index < bytes.readableBytes - 1 { #expect(try channel.readInbound(as: ConnectionEvent.self) == nil) }
        }
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .frame(try Self.frame(Self.hello)))
    }

    @Test func aCompressedFrameIsHandedOnStillCompressed() throws {
        let (channel, _) = try Self.makeChannel(rules: .readSession)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.bytes(.ping(nonce: 5), compressed: true))
        guard case .frame(let frame) = try channel.readInbound(as: ConnectionEvent.self) else { Issue.record("no frame"); return }
        #expect(frame.wasCompressed)
        #expect(try frame.inflated(maxInflatedLength: 100).payload == ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 5]))
    }

    @Test func aCompressedFrameBeforeWelcomeIsRejectedFromItsHeaderAlone() throws {
        let (channel, _) = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        // Only the length, type and flags of a frame that announces 60 KB.
        try channel.writeInbound(ByteBuffer(bytes: [0x00, 0x00, 0xEA, 0x60, 0x01, 0x01]))
        guard case .frameRejected(let error) = try channel.readInbound(as: ConnectionEvent.self) else { Issue.record("not rejected"); return }
        #expect(error.code == .malformedFrame)
        #expect(error.message.contains("before WELCOME"))
    }

    @Test func aLengthOverTheLimitInForceIsFrameTooLargeWithoutWaitingForTheBody() throws {
        let (channel, _) = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(bytes: [0x00, 0x01, 0x00, 0x01]))
        guard case .frameRejected(let error) = try channel.readInbound(as: ConnectionEvent.self) else { Issue.record("not rejected"); return }
        #expect(error.code == .frameTooLarge)
        #expect(error.message == "frame of 65537 bytes exceeds the limit of 65536 bytes")
    }

    @Test func theRulesInTheBoxApplyFromTheNextFrame() throws {
        let (channel, box) = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        box.current = .writeSession(maxFrameLength: 1 << 20)
        var large = ByteBuffer()
        ClientMessage.ping(nonce: 1).encode(into: &large)
        large.setInteger(UInt32(100_002), at: 0)
        large.writeBytes([UInt8](repeating: 0, count: 100_000 - 8))
        try channel.writeInbound(large)
        guard case .frame(let frame) = try channel.readInbound(as: ConnectionEvent.self) else { Issue.record("refused"); return }
        #expect(frame.payload.readableBytes == 100_000)
    }

    @Test func brokenBytesBecomeOneRejectionAndTheRestIsDropped() throws {
        let (channel, _) = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF]))
        try channel.writeInbound(Self.bytes(Self.hello))
        guard case .frameRejected(let error) = try channel.readInbound(as: ConnectionEvent.self) else { Issue.record("not rejected"); return }
        #expect(error.code == .malformedFrame)
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
    }

    @Test func aTLSRecordFirstIsRefusedByAPlainServer() throws {
        let (channel, _) = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00]))
        guard case .frameRejected(let error) = try channel.readInbound(as: ConnectionEvent.self) else { Issue.record("not rejected"); return }
        #expect(error.message.contains("does not speak TLS"))
    }

    @Test func theProgressOfWritesIsReportedForTheStallDeadline() throws {
        let holding = WriteHoldingHandler()
        let (channel, _) = try Self.makeChannel(holdingWrites: holding)
        defer { _ = try? channel.finish() }
        channel.write(ServerMessage.caughtUp(headRevision: 1), promise: nil)
        channel.writeAndFlush(ServerMessage.caughtUp(headRevision: 2), promise: nil)
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .writesPending)
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil, "only the first pending write is news")
        holding.completeHeldWrites()
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .writeCompleted(remaining: 1))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .writeCompleted(remaining: 0))
    }

    @Test func anEventHandedInIsDeliveredInOrderWithTheFrames() throws {
        let (channel, _) = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.bytes(Self.hello))
        channel.pipeline.triggerUserOutboundEvent(ConnectionCommand.deliver(.shutdownRequested), promise: nil)
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .frame(try Self.frame(Self.hello)))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .shutdownRequested)
    }
}

/// Stands for a socket whose peer reads nothing: writes stay pending until the test completes them.
final class WriteHoldingHandler: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    private var held: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        held.append(promise ?? context.eventLoop.makePromise())
    }

    func flush(context: ChannelHandlerContext) {}

    func completeHeldWrites() {
        let promises = held
        held.removeAll()
        for promise in promises { promise.succeed() }
    }
}

@Suite("the server pipeline in an EmbeddedChannel")
struct ServerPipelineTests {
    @Test func theTransportSnifferAnswersInFrontOfTheCodecWithoutPassingBytesThroughIt() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TransportSniffingHandler(tlsContext: nil))
        try channel.pipeline.syncOperations.addArticleSyncServerCodec(rules: FrameRulesBox(.handshake(refusesTLSRecord: false)))
        try channel.pipeline.syncOperations.addHandler(ConnectionEventHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01]))
        let frame = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let message = try ServerMessage(frameBytes: frame)
        guard case .error(let error) = message else { Issue.record("expected ERROR, got \(message)"); return }
        #expect(error.code == .malformedFrame)
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
        #expect(!channel.isActive)
    }
}
