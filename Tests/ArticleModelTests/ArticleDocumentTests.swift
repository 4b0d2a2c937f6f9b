import ArticleModel
import ArticleSyncTestSupport
import XCTest

final class ArticleDocumentTests: XCTestCase {
    let canonical = Array(SeedFormatTests.canonical.utf8)

    func testCanonicalSourceTravelsWithoutItsSourceAndIsRecreated() throws {
        let article = try SeedFormat.parse(canonical)
        let document = ArticleDocument.encode(article)
        XCTAssertEqual(document[0], 1, "version")
        XCTAssertEqual(document[1], 0, "HAS_SOURCE clear")
        XCTAssertEqual(Array(document[2...7]), [0x07, 0xE9, 4, 10, 21, 17], "2025-04-10 21:17")
        let decoded = try ArticleDocument.decode(document)
        XCTAssertEqual(decoded, article)
        XCTAssertEqual(decoded.source, canonical)
    }

    func testMessySourceTravelsVerbatim() throws {
        let messy = Array(("\u{FEFF}" + SeedFormatTests.canonical.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n").utf8)
        let article = try SeedFormat.parse(messy)
        let document = ArticleDocument.encode(article)
        XCTAssertEqual(document[1], ArticleDocument.hasSourceFlag)
        XCTAssertEqual(Array(document.suffix(messy.count)), messy)
        let decoded = try ArticleDocument.decode(document)
        XCTAssertEqual(decoded.source, messy)
        XCTAssertEqual(decoded.body, article.body)
    }

    func testMalformedDocumentsAreRejected() throws {
        let document = ArticleDocument.encode(try SeedFormat.parse(canonical))
        var badVersion = document
        badVersion[0] = 2
        var reservedFlag = document
        reservedFlag[1] = 0x02
        var badMonth = document
        badMonth[4] = 13
        for (name, bytes) in [
            ("version", badVersion), ("reserved flag", reservedFlag), ("month", badMonth),
            ("truncated", Array(document.dropLast())), ("trailing byte", document + [0]), ("empty", []),
        ] {
            XCTAssertThrowsError(try ArticleDocument.decode(bytes), name)
        }
    }

    func testDocumentCompressesWithAStoreDictionaryNamedInTheZlibHeader() throws {
        let document = ArticleDocument.encode(try SeedFormat.parse(canonical))
        let dictionary = Array(String(repeating: "diplomatische Gespräche über Banken in Istanbul ", count: 20).utf8)
        let compressed = ArticleCompression.compressDocument(document, dictionary: dictionary)
        XCTAssertEqual(ArticleCompression.dictionaryID(of: compressed), ArticleCompression.id(ofDictionary: dictionary))
        let plain = ArticleCompression.compressDocument(document, dictionary: nil)
        XCTAssertNil(ArticleCompression.dictionaryID(of: plain))
        XCTAssertLessThan(compressed.count, plain.count)
        XCTAssertThrowsError(try ArticleCompression.inflateDocument(compressed, documentLength: document.count))
        let inflated = try ArticleCompression.inflateDocument(compressed, documentLength: document.count) { id in
            id == ArticleCompression.id(ofDictionary: dictionary) ? dictionary : nil
        }
        XCTAssertEqual(inflated, document)
        XCTAssertEqual(try ArticleCompression.inflateDocument(plain, documentLength: document.count), document)
        XCTAssertThrowsError(try ArticleCompression.inflateDocument(plain, documentLength: document.count + 1))
    }

    func testPresetDeflaterMatchesOneShotDictionaryCompression() throws {
        let document = ArticleDocument.encode(try SeedFormat.parse(canonical))
        let dictionary = Array(SeedFormatTests.canonical.utf8.suffix(200))
        let deflater = PresetDeflater(dictionary: dictionary)
        let first = deflater.compress(document)
        XCTAssertEqual(deflater.compress(document), first, "the primed state is not consumed")
        let inflated = try ArticleCompression.inflateDocument(first, documentLength: document.count) { _ in dictionary }
        XCTAssertEqual(inflated, document)
    }

    func testDeltaAgainstThePreviousSourceIsSmallAndRoundTrips() throws {
        let old = try SeedFormat.parse(canonical)
        let editedText = SeedFormatTests.canonical.replacingOccurrences(of: "Erster Absatz", with: "Der erste, geänderte Absatz")
        let edited = try SeedFormat.parse(Array(editedText.utf8))
        let document = ArticleDocument.encode(edited)
        let delta = ArticleCompression.compressDelta(document, baseSource: old.source)
        XCTAssertLessThan(delta.count, ArticleCompression.compressDocument(document, dictionary: nil).count)
        XCTAssertEqual(try ArticleCompression.inflateDelta(delta, documentLength: document.count, baseSource: old.source), document)
        XCTAssertThrowsError(
            try ArticleCompression.inflateDelta(delta, documentLength: document.count, baseSource: edited.source),
            "another base cannot inflate it")
    }

    func testDictionaryBuilderKeepsTheMostCommonMaterialAndHelpsCompression() throws {
        // Samples sharing boilerplate: the dictionary must pick it up and shrink every article.
        let boilerplate = "Die Bundesregierung teilte am Donnerstag in Berlin mit, dass die Gespräche fortgesetzt werden. "
        var generator = SplitMix64(seed: 7)
        let samples: [[UInt8]] = (0..<300).map { index in
            var text = "Artikel \(index): "
            for _ in 0..<20 { text += "Wort\(generator.next() % 5000) " }
            text += boilerplate
            for _ in 0..<20 { text += "Zahl\(generator.next() % 9000) " }
            return Array(text.utf8)
        }
        let dictionary = DictionaryBuilder.build(samples: samples, maxSize: 4096)
        XCTAssertLessThanOrEqual(dictionary.count, 4096)
        XCTAssertTrue(String(decoding: dictionary, as: UTF8.self).contains("Gespräche fortgesetzt"))
        let withDictionary = samples.reduce(0) { $0 + ArticleCompression.compressDocument($1, dictionary: dictionary).count }
        let without = samples.reduce(0) { $0 + ArticleCompression.compressDocument($1, dictionary: nil).count }
        XCTAssertLessThan(Double(withDictionary), Double(without) * 0.85)
        XCTAssertEqual(DictionaryBuilder.build(samples: samples, maxSize: 4096), dictionary, "deterministic")
    }
}
