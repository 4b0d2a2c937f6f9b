import ArticleSyncProtocol
import NIOCore
import Testing
import Zlib

@Suite struct CompressedFrameTests {
    static func compressedFrame(type: UInt8 = 0x10, inflatedLength: UInt32, zlib: [UInt8]) -> ByteBuffer {
        var payload = Bytes()
        payload.u32(inflatedLength)
        payload.raw(zlib)
        return rawFrame(type: type, flags: 0x01, payload: payload.bytes)
    }

    static let pingPayload: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 7]

    @Test func compressedFrameInflatesAndRemembersItWasCompressed() throws {
        var buffer = Self.compressedFrame(inflatedLength: 8, zlib: try Zlib.deflate(Self.pingPayload))
        var decoder = FrameDecoder()
        let frame = try #require(try decoder.decodeFrame(buffer: &buffer))
        #expect(frame.wasCompressed)
        #expect(Array(frame.payload.readableBytesView) == Self.pingPayload)
        #expect(try ClientMessage(frame: frame) == .ping(nonce: 7))
    }

    @Test func inflatedLengthAboveTheLimitIsRefusedWithoutInflating() {
        var buffer = Self.compressedFrame(inflatedLength: ProtocolLimits.maxInflatedLength + 1, zlib: [0x78, 0x9C])
        var decoder = FrameDecoder()
        expectProtocolError(.inflatedTooLarge) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func inflatedLengthZeroIsMalformed() throws {
        var buffer = Self.compressedFrame(inflatedLength: 0, zlib: try Zlib.deflate(Self.pingPayload))
        var decoder = FrameDecoder()
        expectProtocolError(.malformedFrame) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func compressedPayloadShorterThanInflatedLengthFieldIsMalformed() {
        var buffer = rawFrame(type: 0x10, flags: 0x01, payload: [0, 0])
        var decoder = FrameDecoder()
        expectProtocolError(.malformedFrame) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func smallFrameClaimingTheMaximumIsRefusedBeforeAllocating() throws {
        // 20 bytes of zlib cannot inflate to 64 MiB: refused from the sizes alone.
        let zlib = try Zlib.deflate([UInt8](repeating: 0, count: 1000))
        var buffer = Self.compressedFrame(inflatedLength: ProtocolLimits.maxInflatedLength, zlib: zlib)
        var decoder = FrameDecoder()
        expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func zlibBombStopsAtTheClaimedLength() throws {
        // ~60 KiB of zlib that inflates to 64 MiB, in a frame that claims 1 MiB: inflating stops at
        // 1 MiB + 1 byte, so the bomb costs 1 MiB.
        let bomb = try Zlib.deflate([UInt8](repeating: 0, count: Int(ProtocolLimits.maxInflatedLength)), level: 1)
        var buffer = Self.compressedFrame(inflatedLength: 1 << 20, zlib: bomb)
        var decoder = FrameDecoder()
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
        }
        #expect(elapsed < .seconds(2))
    }

    @Test func streamInflatingToLessThanClaimedIsBadCompression() throws {
        var buffer = Self.compressedFrame(inflatedLength: 9, zlib: try Zlib.deflate(Self.pingPayload))
        var decoder = FrameDecoder()
        expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func streamInflatingToMoreThanClaimedIsBadCompression() throws {
        var buffer = Self.compressedFrame(inflatedLength: 7, zlib: try Zlib.deflate(Self.pingPayload))
        var decoder = FrameDecoder()
        expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func invalidZlibIsBadCompression() {
        var buffer = Self.compressedFrame(inflatedLength: 8, zlib: [0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01])
        var decoder = FrameDecoder()
        expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func truncatedZlibIsBadCompression() throws {
        let zlib = try Zlib.deflate(Self.pingPayload)
        var buffer = Self.compressedFrame(inflatedLength: 8, zlib: Array(zlib.dropLast(3)))
        var decoder = FrameDecoder()
        expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func bytesAfterTheZlibStreamAreBadCompression() throws {
        var buffer = Self.compressedFrame(inflatedLength: 8, zlib: try Zlib.deflate(Self.pingPayload) + [0])
        var decoder = FrameDecoder()
        expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func presetDictionaryInAFrameIsBadCompression() throws {
        let zlib = try Zlib.deflate(Self.pingPayload, dictionary: Array("some dictionary".utf8))
        #expect(Zlib.dictionaryID(of: zlib) != nil)
        var buffer = Self.compressedFrame(inflatedLength: 8, zlib: zlib)
        var decoder = FrameDecoder()
        expectProtocolError(.badCompression) { _ = try decoder.decodeFrame(buffer: &buffer) }
    }

    @Test func inflatedPayloadIsDecodedExactlyLikeAnUncompressedOne() throws {
        // Leftover bytes after inflating are as malformed as leftover bytes in a plain frame.
        var buffer = Self.compressedFrame(inflatedLength: 9, zlib: try Zlib.deflate(Self.pingPayload + [1]))
        var decoder = FrameDecoder()
        let frame = try #require(try decoder.decodeFrame(buffer: &buffer))
        expectProtocolError(.malformedFrame) { _ = try ClientMessage(frame: frame) }
    }

    @Test func everyMessageSurvivesACompressedRoundTrip() throws {
        for file in ["01-hello.bin", "03-pull-bootstrap.bin", "05-push.bin", "13-error.bin"] {
            let message = try ClientMessage(frameBytes: try vectorBytes(file))
            var encoded = ByteBuffer()
            message.encode(into: &encoded, compress: true)
            #expect(encoded.getInteger(at: 5, as: UInt8.self) == 0x01)
            #expect(try ClientMessage(frameBytes: encoded) == message, "\(file)")
        }
        for file in ["14-welcome.bin", "15-batch.bin", "18-push-result.bin", "21-dictionary.bin"] {
            let message = try ServerMessage(frameBytes: try vectorBytes(file))
            var encoded = ByteBuffer()
            message.encode(into: &encoded, compress: true)
            #expect(try ServerMessage(frameBytes: encoded) == message, "\(file)")
        }
    }
}
