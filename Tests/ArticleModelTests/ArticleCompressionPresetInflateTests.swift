import ArticleModel
import XCTest
import Zlib

final class ArticleCompressionPresetInflateTests: XCTestCase {
    private let dictionary = Array(String(repeating: "Die Regierung hat am Montag beschlossen, ", count: 40).utf8)
    private let document = Array("Die Regierung hat am Dienstag beschlossen, dass die Regierung tagt.".utf8)

    private func inflate(_ compressed: [UInt8], length: Int, dictionary: [UInt8]?) throws -> [UInt8] {
        try compressed.withUnsafeBytes { bytes in
            try ArticleCompression.inflateDocument(bytes, documentLength: length) { _ in dictionary }
        }
    }

    func testInflatesADocumentCompressedWithAPresetDictionary() throws {
        let compressed = ArticleCompression.compressDocument(document, dictionary: dictionary)
        XCTAssertEqual(try inflate(compressed, length: document.count, dictionary: dictionary), document)
    }

    func testInflatesADeltaAndADocumentWithoutDictionary() throws {
        let delta = ArticleCompression.compressDelta(document, baseSource: dictionary)
        XCTAssertEqual(try inflate(delta, length: document.count, dictionary: dictionary), document)
        let plain = ArticleCompression.compressDocument(document, dictionary: nil)
        XCTAssertEqual(try inflate(plain, length: document.count, dictionary: nil), document)
    }

    func testRejectsAWrongDictionaryOnTheOutputChecksum() {
        let compressed = ArticleCompression.compressDocument(document, dictionary: dictionary)
        // Same length, every byte different: whatever the stream copies from it comes out wrong.
        let wrong = dictionary.map { $0 &+ 1 }
        XCTAssertThrowsError(try inflate(compressed, length: document.count, dictionary: wrong))
    }

    func testReportsAMissingDictionaryByItsID() {
        let compressed = ArticleCompression.compressDocument(document, dictionary: dictionary)
        XCTAssertThrowsError(try inflate(compressed, length: document.count, dictionary: nil)) { error in
            XCTAssertEqual(error as? Zlib.Error, .needsDictionary(id: Zlib.adler32(dictionary)))
        }
    }

    func testRejectsAWrongLengthTruncationAndTrailingBytes() {
        let compressed = ArticleCompression.compressDocument(document, dictionary: dictionary)
        XCTAssertThrowsError(try inflate(compressed, length: document.count + 1, dictionary: dictionary)) { error in
            XCTAssertEqual(error as? Zlib.Error, .tooShort(expected: document.count + 1, actual: document.count))
        }
        XCTAssertThrowsError(try inflate(compressed, length: document.count - 1, dictionary: dictionary)) { error in
            XCTAssertEqual(error as? Zlib.Error, .tooLarge(limit: document.count - 1))
        }
        XCTAssertThrowsError(try inflate(Array(compressed.dropLast(2)), length: document.count, dictionary: dictionary))
        XCTAssertThrowsError(try inflate(compressed + [0], length: document.count, dictionary: dictionary)) { error in
            XCTAssertEqual(error as? Zlib.Error, .trailingBytes)
        }
    }

    /// The fast path (igzip) gives every byte zlib gives, and refuses every damaged copy as zlib's
    /// ordinary path does: documents of many lengths, each truncated and with a byte flipped.
    func testTheFastPathAgreesWithZlibOnEveryDocumentAndEveryDamagedCopy() throws {
        var generator = SystemRandomNumberGenerator()
        let words = ["Regierung", "Bundestag", "Haushalt", "Gespräche", "Hochwasser", "über", "die", "und", "Straße", "Zinsen"]
        for count in [1, 2, 10, 100, 1_000, 5_000] {
            let text = (0..<count).map { _ in words.randomElement(using: &generator)! }.joined(separator: " ")
            let document = Array(text.utf8)
            let compressed = ArticleCompression.compressDocument(document, dictionary: dictionary)
            XCTAssertEqual(try inflate(compressed, length: document.count, dictionary: dictionary), document)
            XCTAssertEqual(
                try Zlib.inflate(compressed, exactLength: document.count, maxLength: 1 << 24, dictionary: { _ in self.dictionary }), document)
            for cut in [compressed.count - 5, compressed.count / 2, 7] where cut > 6 {
                XCTAssertThrowsError(try inflate(Array(compressed[..<cut]), length: document.count, dictionary: dictionary), "cut at \(cut)")
            }
            for _ in 0..<50 {
                var damaged = compressed
                let at = Int.random(in: 6..<damaged.count, using: &generator)
                damaged[at] ^= UInt8.random(in: 1...255, using: &generator)
                let fast = Result { try inflate(damaged, length: document.count, dictionary: dictionary) }
                let ordinary = Result {
                    try Zlib.inflate(damaged, exactLength: document.count, maxLength: 1 << 24, dictionary: { _ in self.dictionary })
                }
                XCTAssertEqual(try? fast.get(), try? ordinary.get(), "byte \(at) of \(compressed.count)")
            }
        }
    }
}
