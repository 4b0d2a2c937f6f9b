import ArticleModel
import ArticleSyncProtocol
import Foundation
import Testing

/// Inputs the fuzzers found interesting (crashes, kept forever) replayed through the same entry
/// points as the fuzz targets: each must come back with messages or an error, never a trap.
@Suite struct FuzzResultTests {
    static let corpus = Binaries.packageRoot.appendingPathComponent("Tests/ReliabilityTests/FuzzCorpus")

    static func inputs(_ folder: String) -> [URL] {
        let directory = corpus.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test func everyGoldenVectorDecodesInItsDirection() throws {
        let vectors = Binaries.packageRoot.appendingPathComponent("Protocol/vectors")
        let hello = [UInt8](try Data(contentsOf: vectors.appendingPathComponent("01-hello.bin")))
        let names = try FileManager.default.contentsOfDirectory(atPath: vectors.path).filter { $0.hasSuffix(".bin") }
        #expect(names.count == 21)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: vectors.appendingPathComponent(name)))
            // A server's decoder wants HELLO first (§4.1), as the client-stream fuzz seeds have it.
            let isHello = name.contains("hello")
            let asClient = WireFuzzing.decodeClientStream(isHello ? bytes : hello + bytes).count - (isHello ? 0 : 1)
            let asServer = WireFuzzing.decodeServerStream(bytes).count
            #expect(asClient + asServer >= 1, "\(name) decodes in neither direction")
        }
    }

    /// Every input kept under FuzzCorpus/<target>/ (the crashes the fuzzers found, now fixed).
    @Test func keptFuzzInputsDecodeWithoutATrap() throws {
        var replayed = 0
        for input in Self.inputs("FuzzClientStream") {
            WireFuzzing.decodeClientStream([UInt8](try Data(contentsOf: input)))
            replayed += 1
        }
        for input in Self.inputs("FuzzServerStream") {
            WireFuzzing.decodeServerStream([UInt8](try Data(contentsOf: input)))
            replayed += 1
        }
        for input in Self.inputs("FuzzSeedFormat") {
            let bytes = [UInt8](try Data(contentsOf: input))
            if let article = try? SeedFormat.parse(bytes) { #expect(article.source == bytes) }
            _ = try? ArticleDocument.decode(bytes)
            replayed += 1
        }
        #expect(replayed == Self.inputs("FuzzClientStream").count + Self.inputs("FuzzServerStream").count + Self.inputs("FuzzSeedFormat").count)
    }
}
