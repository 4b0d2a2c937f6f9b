import ArticleSyncProtocol
import ArticleSyncServer
import NIOCore
import NIOEmbedded
import XCTest

/// The plain-server half of the transport sniffer (the TLS half needs certificates: see the client
/// tests' SecurityTLSTests).
final class SecurityTransportSniffingTests: XCTestCase {
    func testAPlainServerAnswersATLSClientHelloWithMalformedFrameAndCloses() throws {
        let channel = EmbeddedChannel(handler: TransportSniffingHandler(tlsContext: nil))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01]))

        var frame = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(frame.readInteger(as: UInt32.self), UInt32(frame.readableBytes))
        XCTAssertEqual(frame.readInteger(as: UInt8.self), MessageType.error.rawValue)
        XCTAssertEqual(frame.readInteger(as: UInt8.self), 0)
        XCTAssertEqual(frame.readInteger(as: UInt16.self), ErrorCode.malformedFrame.rawValue)
        let length = try XCTUnwrap(frame.readInteger(as: UInt16.self))
        XCTAssertEqual(frame.readString(length: Int(length)), "this server does not speak TLS; connect without --tls")
        XCTAssertEqual(frame.readableBytes, 0)
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self), "nothing reaches the protocol handlers")
        XCTAssertFalse(channel.isActive)
    }

    func testAPlainServerPassesOtherBytesOnAndStepsAside() throws {
        let sniffer = TransportSniffingHandler(tlsContext: nil)
        let channel = EmbeddedChannel(handler: sniffer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x10]))
        try channel.writeInbound(ByteBuffer(bytes: [0x01]))

        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x10]))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), ByteBuffer(bytes: [0x01]))
        XCTAssertThrowsError(try channel.pipeline.syncOperations.context(handler: sniffer))
        XCTAssertTrue(channel.isActive)
        _ = try channel.finish()
    }
}
