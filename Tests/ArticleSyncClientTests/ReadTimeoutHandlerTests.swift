@testable import ArticleSyncClient
import NIOCore
import NIOEmbedded
import Testing

/// The frame-progress deadline on the embedded loop's clock: frames in any split are fine however
/// long the gaps between them, a frame that takes longer than the timeout ends the connection.
@Suite("read deadlines") struct ReadTimeoutHandlerTests {
    static let timeout = TimeAmount.seconds(2)

    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: ReadTimeoutHandler(frameTimeout: timeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static func frame(_ payload: Int) -> [UInt8] {
        let length = UInt32(payload + 2)
        return withUnsafeBytes(of: length.bigEndian, Array.init) + [0x83, 0] + [UInt8](repeating: 7, count: payload)
    }

    @Test func completeFramesInAnySplitNeverTimeOutHoweverLongTheGapsBetweenThem() throws {
        let channel = try Self.channel()
        var generator = SplitMix64(seed: 3)
        let stream = [0, 1, 6, 300, 70_000, 2].flatMap(Self.frame)
        var offset = 0
        var passed: [UInt8] = []
        while offset < stream.count {
            let size = min(stream.count - offset, 1 + Int(generator.next() % 5_000))
            try channel.writeInbound(ByteBuffer(bytes: stream[offset..<offset + size]))
            offset += size
            // Within a frame, time moves a little; at each boundary, a long wait.
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
            while var read = try channel.readInbound(as: ByteBuffer.self) { passed += read.readBytes(length: read.readableBytes)! }
        }
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        try channel.throwIfErrorCaught()
        #expect(channel.isActive)
        #expect(passed == stream, "bytes pass through unchanged")
        _ = try channel.finish()
    }

    @Test func aFrameTrickledSlowerThanTheTimeoutEndsTheConnection() throws {
        let channel = try Self.channel()
        let frame = Self.frame(100)
        // A byte every 500 ms: never silent for long, but the frame would take 53 s.
        var caught: (any Error)?
        var sent = 0
        for byte in frame where channel.isActive {
            do {
                try channel.writeInbound(ByteBuffer(bytes: [byte]))
                sent += 1
                channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
                try channel.throwIfErrorCaught()
            } catch {
                caught = error
            }
        }
        #expect(caught is ReadTimeoutHandler.FrameTooSlow, "\(String(describing: caught))")
        #expect(sent == 4, "cut off after \(sent) bytes, 2 s")
        #expect(!channel.isActive)
    }

    @Test func aFrameThatArrivesJustInTimeIsFineAndTheNextOneGetsAFullDeadline() throws {
        let channel = try Self.channel()
        let frame = Self.frame(10)
        try channel.writeInbound(ByteBuffer(bytes: frame.prefix(3)))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1_900))
        try channel.writeInbound(ByteBuffer(bytes: frame.dropFirst(3) + frame.prefix(1)))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1_900))
        try channel.throwIfErrorCaught()
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(throws: ReadTimeoutHandler.FrameTooSlow.self) { try channel.throwIfErrorCaught() }
    }
}
