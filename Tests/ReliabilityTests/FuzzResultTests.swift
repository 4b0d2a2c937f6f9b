import ArticleModel
import ArticleSyncProtocol
import Foundation
import Testing

/// The fuzz targets' entry points on the golden vectors, which seed their corpora (scripts/fuzz):
/// each vector decodes in its direction. A crash the fuzzers find is kept as a regression test of
/// its own beside this one.
@Suite struct FuzzResultTests {
    static let vectors = Binaries.packageRoot.appendingPathComponent("Protocol/vectors")

    @Test func everyGoldenVectorDecodesInItsDirection() throws {
        let hello = [UInt8](try Data(contentsOf: Self.vectors.appendingPathComponent("01-hello.bin")))
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.vectors.path)
            .filter { $0.hasSuffix(".bin") && !$0.hasPrefix("n") }
        #expect(names.count >= 26)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: Self.vectors.appendingPathComponent(name)))
            // A server reads HELLO first (§4.1), as the client-stream fuzz seeds have it.
            let isHello = name.contains("hello")
            let asClient = WireFuzzing.decodeClientStream(isHello ? bytes : hello + bytes).count - (isHello ? 0 : 1)
            let asServer = WireFuzzing.decodeServerStream(bytes).count
            #expect(asClient + asServer >= 1, "\(name) decodes in neither direction")
        }
    }
}
