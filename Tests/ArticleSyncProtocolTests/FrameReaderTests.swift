import ArticleSyncProtocol
import NIOCore
import Testing

@Suite("the server's frame reader, one frame at a time")
struct FrameReaderTests {
    static func bytes(_ message: ClientMessage, compressed: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.encode(into: &buffer, compress: compressed)
        return buffer
    }

    static let hello = ClientMessage.hello(Hello(features: .all, agent: "test"))
    static let handshake = FrameRules.handshake(refusesTLSRecord: true)

    @Test func aFrameIsAnnouncedByItsTypeBeforeItsBodyIsThere() throws {
        var reader = FrameReader()
        var ping = Self.bytes(.ping(nonce: 7))
        reader.append(ping.readSlice(length: 6)!)
        #expect(try reader.next(rules: .readSession) == .announced(.ping))
        #expect(try reader.next(rules: .readSession) == .needMoreBytes)
        reader.append(ping)
        guard case .frame(let frame) = try reader.next(rules: .readSession) else { Issue.record("no frame"); return }
        #expect(try ClientMessage(frame: frame) == .ping(nonce: 7))
        #expect(reader.bufferedBytes == 0)
    }

    @Test func aWholeFrameArrivesEvenTrickledByteByByte() throws {
        var reader = FrameReader()
        let bytes = Self.bytes(Self.hello)
        var steps: [FrameReader.Next] = []
        for index in 0..<bytes.readableBytes {
            reader.append(bytes.getSlice(at: index, length: 1)!)
            while true {
                let next = try reader.next(rules: Self.handshake)
                if next == .needMoreBytes { break }
                steps.append(next)
            }
        }
        #expect(steps.count == 2)
        #expect(steps.first == .announced(.hello))
        guard case .frame(let frame) = steps.last else { Issue.record("no frame"); return }
        #expect(try ClientMessage(frame: frame) == Self.hello)
    }

    @Test func framesThatArriveTogetherAreHandedOutOneAtATime() throws {
        var reader = FrameReader()
        var many = ByteBuffer()
        for nonce in 0..<100 { ClientMessage.ping(nonce: UInt64(nonce)).encode(into: &many) }
        reader.append(many)
        #expect(try reader.next(rules: .readSession) == .announced(.ping))
        guard case .frame(let first) = try reader.next(rules: .readSession) else { Issue.record("no frame"); return }
        #expect(try ClientMessage(frame: first) == .ping(nonce: 0))
        // The other 99 wait as bytes until they are asked for.
        #expect(reader.bufferedBytes == 99 * first.payload.readableBytes + 99 * 6)
    }

    @Test func aCompressedFrameIsHandedOutStillCompressed() throws {
        var reader = FrameReader()
        reader.append(Self.bytes(.ping(nonce: 5), compressed: true))
        _ = try reader.next(rules: .readSession)
        guard case .frame(let frame) = try reader.next(rules: .readSession) else { Issue.record("no frame"); return }
        #expect(frame.wasCompressed)
        #expect(try frame.inflated(maxInflatedLength: 100).payload == ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 5]))
    }

    @Test func aCompressedFrameBeforeWelcomeIsRejectedFromItsHeaderAlone() throws {
        var reader = FrameReader()
        // Only the length, type and flags of a frame that announces 60 KB.
        reader.append(ByteBuffer(bytes: [0x00, 0x00, 0xEA, 0x60, 0x01, 0x01]))
        let error = #expect(throws: ProtocolError.self) { try reader.next(rules: Self.handshake) }
        #expect(error?.code == .malformedFrame)
        #expect(error?.message.contains("before WELCOME") == true)
    }

    @Test func aLengthOverTheLimitInForceIsFrameTooLargeWithoutWaitingForTheBody() throws {
        var reader = FrameReader()
        reader.append(ByteBuffer(bytes: [0x00, 0x01, 0x00, 0x01]))
        let error = #expect(throws: ProtocolError.self) { try reader.next(rules: Self.handshake) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message == "frame of 65537 bytes exceeds the limit of 65536 bytes")
    }

    @Test func theRulesPassedApplyToTheFrameThatStartsNext() throws {
        var reader = FrameReader()
        var large = ByteBuffer()
        ClientMessage.ping(nonce: 1).encode(into: &large)
        large.setInteger(UInt32(100_002), at: 0)
        large.writeBytes([UInt8](repeating: 0, count: 100_000 - 8))
        reader.append(large)
        #expect(throws: ProtocolError.self) { try reader.next(rules: Self.handshake) }
        var again = FrameReader()
        again.append(large)
        let write = FrameRules.writeSession(maxFrameLength: 1 << 20)
        #expect(try again.next(rules: write) == .announced(.ping))
        guard case .frame(let frame) = try again.next(rules: write) else { Issue.record("refused"); return }
        #expect(frame.payload.readableBytes == 100_000)
    }

    @Test func aTLSRecordFirstIsRefusedByAPlainServer() throws {
        var reader = FrameReader()
        reader.append(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00]))
        let error = #expect(throws: ProtocolError.self) { try reader.next(rules: Self.handshake) }
        #expect(error?.message.contains("does not speak TLS") == true)
    }

    @Test func aStreamThatEndsInsideAFrameSaysSo() throws {
        var reader = FrameReader()
        #expect(reader.endedInsideAFrame == nil)
        reader.append(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x0A, 0x10]))
        #expect(reader.endedInsideAFrame?.code == .malformedFrame)
        reader.discardAll()
        #expect(reader.bufferedBytes == 0)
        #expect(try reader.next(rules: Self.handshake) == .needMoreBytes)
    }

    @Test func theGoldenHelloVectorReadsAsHello() throws {
        var reader = FrameReader()
        reader.append(try vectorBytes("01-hello.bin"))
        #expect(try reader.next(rules: Self.handshake) == .announced(.hello))
        guard case .frame(let frame) = try reader.next(rules: Self.handshake) else { Issue.record("no frame"); return }
        #expect(try ClientMessage(frame: frame) == .hello(Hello(features: [.dictionary, .delta], agent: "articlesync/1.0")))
    }
}
