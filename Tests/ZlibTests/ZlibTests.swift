import XCTest
import Zlib

final class ZlibTests: XCTestCase {
    let text = Array(String(repeating: "Die Vereinigten Staaten und Russland führten Gespräche. ", count: 40).utf8)

    func testRoundTripWithoutDictionary() throws {
        let compressed = try Zlib.deflate(text)
        XCTAssertLessThan(compressed.count, text.count / 4)
        XCTAssertNil(Zlib.dictionaryID(of: compressed))
        XCTAssertEqual(try Zlib.inflate(compressed, exactLength: text.count, maxLength: 1 << 20), text)
        XCTAssertEqual(try Zlib.inflate(compressed, maxLength: 1 << 20), text)
    }

    func testPresetDictionaryIsNamedByItsAdler32AndRequiredToInflate() throws {
        let dictionary = Array("Die Vereinigten Staaten und Russland".utf8)
        let compressed = try Zlib.deflate(text, dictionary: dictionary)
        XCTAssertEqual(Zlib.dictionaryID(of: compressed), Zlib.adler32(dictionary))
        XCTAssertThrowsError(try Zlib.inflate(compressed, maxLength: 1 << 20)) { error in
            XCTAssertEqual(error as? Zlib.Error, .needsDictionary(id: Zlib.adler32(dictionary)))
        }
        let inflated = try Zlib.inflate(compressed, maxLength: 1 << 20) { id in
            id == Zlib.adler32(dictionary) ? dictionary : nil
        }
        XCTAssertEqual(inflated, text)
    }

    func testInflateStopsAtTheLimitOfABomb() throws {
        let bomb = try Zlib.deflate([UInt8](repeating: 0, count: 50_000_000))
        XCTAssertLessThan(bomb.count, 100_000)
        XCTAssertThrowsError(try Zlib.inflate(bomb, maxLength: 1_000_000)) { error in
            XCTAssertEqual(error as? Zlib.Error, .tooLarge(limit: 1_000_000))
        }
        XCTAssertThrowsError(try Zlib.inflate(bomb, exactLength: 1_000, maxLength: 1_000_000)) { error in
            XCTAssertEqual(error as? Zlib.Error, .tooLarge(limit: 1_000))
        }
    }

    func testExactLengthMismatchTruncationAndTrailingBytesAreErrors() throws {
        let compressed = try Zlib.deflate(text)
        XCTAssertThrowsError(try Zlib.inflate(compressed, exactLength: text.count + 1, maxLength: 1 << 20)) { error in
            XCTAssertEqual(error as? Zlib.Error, .tooShort(expected: text.count + 1, actual: text.count))
        }
        XCTAssertThrowsError(try Zlib.inflate(Array(compressed.dropLast(3)), maxLength: 1 << 20))
        XCTAssertThrowsError(try Zlib.inflate(compressed + [0], maxLength: 1 << 20)) { error in
            XCTAssertEqual(error as? Zlib.Error, .trailingBytes)
        }
        XCTAssertEqual(try Zlib.inflate(compressed + [0], maxLength: 1 << 20, allowTrailingBytes: true), text)
        XCTAssertThrowsError(try Zlib.inflate([1, 2, 3, 4, 5], maxLength: 100))
        XCTAssertThrowsError(try Zlib.inflate([], maxLength: 100))
    }

    func testExactLimitIsAccepted() throws {
        let compressed = try Zlib.deflate(text)
        XCTAssertEqual(try Zlib.inflate(compressed, maxLength: text.count), text)
    }
}
