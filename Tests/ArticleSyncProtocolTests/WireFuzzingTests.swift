import ArticleSyncProtocol
import ArticleSyncTestSupport
import Foundation
import NIOCore
import Testing

/// The fuzzing entry points survive arbitrary input; inputs that once broke them are kept here.
@Suite struct WireFuzzingTests {
    @Test func vectorsDecodeThroughTheFuzzingEntryPoints() throws {
        var clientStream = [UInt8]()
        for file in ["01-hello.bin", "05-push.bin", "06-push-compressed.bin", "11-ping-compressed.bin"] {
            clientStream += Array(try vectorBytes(file).readableBytesView)
        }
        #expect(WireFuzzing.decodeClientStream(clientStream).count == 4)

        var serverStream = [UInt8]()
        for file in ["14-welcome.bin", "15-batch.bin", "16-caught-up.bin"] {
            serverStream += Array(try vectorBytes(file).readableBytesView)
        }
        #expect(WireFuzzing.decodeServerStream(serverStream).count == 3)
    }

    @Test func mutatedVectorsNeverCrash() throws {
        // Deterministic mutations of every vector: flip bytes, cut, and splice. Each must end in a
        // decoded message or a swallowed ProtocolError.
        var generator = SplitMix64(seed: 0x5EED)
        let files = try FileManagerVectors.all()
        for file in files {
            let original = Array(try vectorBytes(file).readableBytesView)
            for _ in 0..<200 {
                var bytes = original
                switch generator.next() % 3 {
                case 0:
                    let index = Int(generator.next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                case 1:
                    bytes.removeLast(Int(generator.next() % UInt64(bytes.count)))
                default:
                    let index = Int(generator.next() % UInt64(bytes.count))
                    bytes.insert(contentsOf: original.prefix(16), at: index)
                }
                let fromClient = WireFuzzing.decodeClientStream(bytes)
                let fromServer = WireFuzzing.decodeServerStream(bytes)
                #expect(fromClient.count <= 2 && fromServer.count <= 2)
            }
        }
    }

    @Test func lengthPrefixesWithoutBodiesDecodeNothing() {
        #expect(WireFuzzing.decodeClientStream([0x00, 0x00, 0xFF, 0x00]).isEmpty)
        #expect(WireFuzzing.decodeServerStream([0x7F, 0xFF, 0xFF, 0xFF, 0x82, 0x00]).isEmpty)
        #expect(WireFuzzing.decodeServerStream([]).isEmpty)
    }
}


enum FileManagerVectors {
    static func all() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: vectorsDirectory.path).filter { $0.hasSuffix(".bin") }.sorted()
    }
}
