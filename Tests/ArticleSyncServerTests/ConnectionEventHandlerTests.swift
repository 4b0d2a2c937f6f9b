import ArticleSyncProtocol
@testable import ArticleSyncServer
import NIOCore
import NIOEmbedded
import Testing

@Suite("connection event handler (deadlines, decoding errors) in an EmbeddedChannel")
struct ConnectionEventHandlerTests {
    static let handshake = TimeAmount.seconds(10)
    static let idle = TimeAmount.seconds(120)
    static let stall = TimeAmount.seconds(60)

    static func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addArticleSyncServerCodec(maxFrameLength: 1 << 20)
        try channel.pipeline.syncOperations.addHandler(ConnectionEventHandler(handshakeTimeout: handshake, idleTimeout: idle, stallTimeout: stall))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
        return channel
    }

    static func bytes(_ message: ClientMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        return buffer
    }

    static let hello = ClientMessage.hello(Hello(features: .all, agent: "test"))

    @Test func silenceAfterTheAcceptEndsInTheHandshakeDeadline() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        channel.embeddedEventLoop.advanceTime(by: Self.handshake - .milliseconds(1))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .deadlinePassed(.handshake))
    }

    @Test func aPeerThatTakesNothingOfAResponseForTheStallTimeoutIsClosed() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.bytes(Self.hello))
        _ = try channel.readInbound(as: ConnectionEvent.self)
        let message = ServerMessage.caughtUp(headRevision: 1)
        // Written frames that reach the socket in time: a slow reader, not a stalled one.
        channel.write(message, promise: nil)
        channel.embeddedEventLoop.advanceTime(by: Self.stall - .seconds(1))
        channel.flush()
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(channel.isActive)
        // A frame that never leaves (EmbeddedChannel completes a write only at its flush): closed
        // after the stall timeout, although the task never asked for a deadline.
        channel.write(message, promise: nil)
        channel.embeddedEventLoop.advanceTime(by: Self.stall - .milliseconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test func aHelloTrickledByteByByteDoesNotResetTheDeadline() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        var hello = Self.bytes(Self.hello)
        // All but the last byte, one per second: the frame never completes within the deadline.
        for _ in 0..<min(hello.readableBytes - 1, 9) {
            try channel.writeInbound(hello.readSlice(length: 1)!)
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .deadlinePassed(.handshake))
    }

    @Test func aCompleteHelloDisarmsTheHandshakeDeadline() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.bytes(Self.hello))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .message(Self.hello))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
    }

    @Test func theIdleDeadlineRunsFromTheArmRequestAndOnlyCompleteFramesStopIt() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.bytes(Self.hello))
        _ = try channel.readInbound(as: ConnectionEvent.self)
        channel.pipeline.triggerUserOutboundEvent(ConnectionCommand.armIdleDeadline(framesConsumed: 1), promise: nil)
        // Half a PING, then nothing more.
        var ping = Self.bytes(.ping(nonce: 7))
        try channel.writeInbound(ping.readSlice(length: 5)!)
        channel.embeddedEventLoop.advanceTime(by: Self.idle)
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .deadlinePassed(.idle))
    }

    @Test func theIdleDeadlineStartsOnlyWhenTheResponseHasLeftTheChannel() throws {
        let socket = WriteHoldingHandler()
        let channel = EmbeddedChannel(handler: socket)
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addArticleSyncServerCodec(maxFrameLength: 1 << 20)
        try channel.pipeline.syncOperations.addHandler(ConnectionEventHandler(handshakeTimeout: Self.handshake, idleTimeout: Self.idle, stallTimeout: Self.idle))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
        try channel.writeInbound(Self.bytes(Self.hello))
        _ = try channel.readInbound(as: ConnectionEvent.self)
        // The task has handed over the last frame of its response, but the socket has not taken it.
        channel.writeAndFlush(ServerMessage.caughtUp(headRevision: 9), promise: nil)
        channel.pipeline.triggerUserOutboundEvent(ConnectionCommand.armIdleDeadline(framesConsumed: 1), promise: nil)
        // (Held for the whole stall timeout, here the idle timeout, it would be a stalled reader: see
        // the test above.)
        channel.embeddedEventLoop.advanceTime(by: Self.idle - .seconds(1))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
        socket.completeHeldWrites()
        channel.embeddedEventLoop.advanceTime(by: Self.idle - .milliseconds(1))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .deadlinePassed(.idle))
    }

    @Test func aFrameDisarmsTheIdleDeadline() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.bytes(Self.hello))
        _ = try channel.readInbound(as: ConnectionEvent.self)
        channel.pipeline.triggerUserOutboundEvent(ConnectionCommand.armIdleDeadline(framesConsumed: 1), promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        try channel.writeInbound(Self.bytes(.ping(nonce: 7)))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .message(.ping(nonce: 7)))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
    }

    @Test func aLateArmRequestAfterTheNextFrameIsIgnored() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.bytes(Self.hello))
        try channel.writeInbound(Self.bytes(.ping(nonce: 1)))
        // The task consumed only HELLO when it asked; PING is already here, so the connection is busy.
        channel.pipeline.triggerUserOutboundEvent(ConnectionCommand.armIdleDeadline(framesConsumed: 1), promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .message(Self.hello))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == .message(.ping(nonce: 1)))
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
    }

    @Test func undecodableBytesBecomeOneDecodingFailedEvent() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        _ = try? channel.writeInbound(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF]))
        guard case .decodingFailed(let error) = try channel.readInbound(as: ConnectionEvent.self) else {
            Issue.record("expected a decoding failure")
            return
        }
        #expect(error.code == .malformedFrame)
        #expect(try channel.readInbound(as: ConnectionEvent.self) == nil)
    }

    @Test func aLengthOverTheHelloLimitIsFrameTooLargeWithoutWaitingForTheBody() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        _ = try? channel.writeInbound(ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF]))
        guard case .decodingFailed(let error) = try channel.readInbound(as: ConnectionEvent.self) else {
            Issue.record("expected a decoding failure")
            return
        }
        #expect(error.code == .frameTooLarge)
    }

    @Test func aShutdownRequestIsDeliveredAsAnEvent() throws {
        let channel = try Self.makeChannel()
        defer { _ = try? channel.finish() }
        channel.pipeline.triggerUserOutboundEvent(ConnectionCommand.requestShutdown, promise: nil)
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
        try channel.pipeline.syncOperations.addArticleSyncServerCodec(rejectsTLSHandshake: false)
        try channel.pipeline.syncOperations.addHandler(ConnectionEventHandler(handshakeTimeout: .seconds(10), idleTimeout: .seconds(10), stallTimeout: .seconds(10)))
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
