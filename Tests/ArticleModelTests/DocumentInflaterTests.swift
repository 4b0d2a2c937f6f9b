import ArticleModel
import XCTest
import Zlib

/// The inflater keeps its last dictionary in ISA-L's window: whatever came before, each document
/// comes out as a fresh inflation gives it, and other bytes are never taken for the kept ones.
final class DocumentInflaterTests: XCTestCase {
    private let words = ["Regierung", "Bundestag", "Haushalt", "Gespräche", "Hochwasser", "über", "die", "und", "Straße", "Zinsen"]

    private func dictionary(_ seed: String) -> [UInt8] {
        Array(String(repeating: "\(seed) Die Regierung hat am Montag beschlossen, ", count: 700).utf8.prefix(32_768))
    }

    private func text(words count: Int, _ generator: inout some RandomNumberGenerator) -> [UInt8] {
        Array((0..<count).map { _ in words.randomElement(using: &generator)! }.joined(separator: " ").utf8)
    }

    private func inflate(_ inflater: DocumentInflater, _ compressed: [UInt8], _ length: Int, _ dictionary: [UInt8]?) throws -> [UInt8] {
        try compressed.withUnsafeBytes { try inflater.inflate($0, documentLength: length) { _ in dictionary } }
    }

    func testARunOfDocumentsAlternatingDictionariesSizesAndDamageInflatesAsEachAlone() throws {
        var generator = SystemRandomNumberGenerator()
        let first = dictionary("Erstens")
        let second = dictionary("Zweitens")
        let inflater = DocumentInflater()
        for round in 0..<400 {
            let dictionary = round % 7 == 3 ? second : first
            // Mostly article-sized, now and then longer than the window, so ISA-L moves its history.
            let document = text(words: round % 11 == 5 ? 9_000 : Int.random(in: 1...600, using: &generator), &generator)
            var compressed = ArticleCompression.compressDocument(document, dictionary: dictionary)
            let damaged = round % 13 == 8
            if damaged { compressed[Int.random(in: 6..<compressed.count, using: &generator)] ^= 0x5A }
            let alone = Result { try compressed.withUnsafeBytes { try ArticleCompression.inflateDocument($0, documentLength: document.count) { _ in dictionary } } }
            let inRun = Result { try inflate(inflater, compressed, document.count, dictionary) }
            XCTAssertEqual(try? inRun.get(), try? alone.get(), "round \(round)")
            if !damaged { XCTAssertEqual(try inRun.get(), document, "round \(round)") }
        }
    }

    func testOtherBytesOfTheSameLengthAreNotTakenForTheDictionaryInTheWindow() throws {
        var generator = SystemRandomNumberGenerator()
        let genuine = dictionary("Echt")
        let document = text(words: 300, &generator)
        let compressed = ArticleCompression.compressDocument(document, dictionary: genuine)
        let inflater = DocumentInflater()
        XCTAssertEqual(try inflate(inflater, compressed, document.count, genuine), document)
        // A forgery of the same length, named by the same id: the stream must read it, not the window.
        let forged = genuine.map { $0 &+ 1 }
        XCTAssertThrowsError(try inflate(inflater, compressed, document.count, forged))
        // An equal copy in other storage is copied in again and inflates alike.
        let copy = Array(genuine[...])
        XCTAssertEqual(try inflate(inflater, compressed, document.count, copy), document)
        XCTAssertEqual(try inflate(inflater, compressed, document.count, genuine), document)
    }
}
