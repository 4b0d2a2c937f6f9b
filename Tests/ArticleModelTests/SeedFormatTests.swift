import ArticleModel
import Foundation
import XCTest

final class SeedFormatTests: XCTestCase {
    static let canonical = """
        Veröffentlichungsdatum: 10.04.2025 21:17 / Welt Nachrichten

        USA und Russland sprechen über diplomatische Banken

        USA und Russland sprechen über diplomatische Banken

        Erster Absatz mit Gesprächen.

        Zweiter Absatz
        mit zwei Zeilen.
        """

    func testParsesTheSampleSeedAndRendersItBackByteForByte() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../seeds/000_2f910ce6754fa13e.txt")
        let bytes = [UInt8](try Data(contentsOf: url))
        let article = try SeedFormat.parse(bytes)
        XCTAssertEqual(article.published, PublicationTime(year: 2025, month: 4, day: 10, hour: 21, minute: 17))
        XCTAssertEqual(article.category, "Welt Nachrichten")
        XCTAssertEqual(article.title, "USA und Russland sprechen über diplomatische Banken")
        XCTAssertEqual(article.paragraphs.count, 6)
        XCTAssertTrue(article.body.hasSuffix("ihrer diplomatischen Präsenz."))
        XCTAssertEqual(article.source, bytes)
        XCTAssertEqual(SeedFormat.render(article), bytes, "the sample is in canonical form")
    }

    func testParagraphLinesAreJoinedWithNewlineAndParagraphsWithABlankLine() throws {
        let article = try SeedFormat.parse(Array(Self.canonical.utf8))
        XCTAssertEqual(article.body, "Erster Absatz mit Gesprächen.\n\nZweiter Absatz\nmit zwei Zeilen.")
        XCTAssertEqual(SeedFormat.render(article), Array(Self.canonical.utf8))
    }

    func testMessyFilesParseToTheSameFieldsAsTheCanonicalOne() throws {
        let clean = try SeedFormat.parse(Array(Self.canonical.utf8))
        let crlf = Self.canonical.replacingOccurrences(of: "\n", with: "\r\n")
        let bom = "\u{FEFF}" + Self.canonical
        let trailingSpaces = Self.canonical.replacingOccurrences(of: "\n", with: " \t \n")
        let trailingNewline = Self.canonical + "\n\n"
        let noRepeatedTitle = Self.canonical.replacingOccurrences(
            of: "\n\nUSA und Russland sprechen über diplomatische Banken\n\nErster", with: "\n\nErster")
        let extraBlankLines = Self.canonical.replacingOccurrences(of: "\n\n", with: "\n\n\n \n")
        for (name, text) in [
            ("CRLF", crlf), ("BOM", bom), ("trailing spaces", trailingSpaces), ("trailing newline", trailingNewline),
            ("no repeated title", noRepeatedTitle), ("extra blank lines", extraBlankLines),
        ] {
            let bytes = Array(text.utf8)
            let article = try SeedFormat.parse(bytes)
            XCTAssertEqual(article.published, clean.published, name)
            XCTAssertEqual(article.category, clean.category, name)
            XCTAssertEqual(article.title, clean.title, name)
            XCTAssertEqual(article.body, clean.body, name)
            XCTAssertEqual(article.source, bytes, "\(name): the source is kept exactly")
        }
    }

    func testACRWithoutLFIsACharacterOfItsLineExceptAtTheVeryEndOfTheSource() throws {
        // A CRLF file whose final LF is missing ends in a CR: it ends the last line (§7.1).
        let crlfCutShort = Self.canonical.replacingOccurrences(of: "\n", with: "\r\n") + "\r"
        let cutShort = try SeedFormat.parse(Array(crlfCutShort.utf8))
        XCTAssertEqual(cutShort.body, try SeedFormat.parse(Array(Self.canonical.utf8)).body)
        let inside = try SeedFormat.parse(Array(Self.canonical.replacingOccurrences(of: "Zweiter Absatz\n", with: "Zweiter\rAbsatz\n").utf8))
        XCTAssertEqual(inside.body, "Erster Absatz mit Gesprächen.\n\nZweiter\rAbsatz\nmit zwei Zeilen.")
    }

    func testMalformedSourcesAreRefusedWithLineAndReason() {
        let expected = "expected 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category'"
        let cases: [(String, [UInt8], Int, String)] = [
            ("empty", [], 1, "the file is empty"),
            ("no date line", Array("Ein Titel\n\nText".utf8), 1, expected),
            ("bad month", Array("Veröffentlichungsdatum: 10.13.2025 21:17 / Welt\n\nT".utf8), 1, "invalid date '10.13.2025'"),
            ("31 April", Array("Veröffentlichungsdatum: 31.04.2025 21:17 / Welt\n\nT".utf8), 1, "invalid date '31.04.2025'"),
            ("29 February 2025", Array("Veröffentlichungsdatum: 29.02.2025 08:00 / Welt\n\nT".utf8), 1, "invalid date '29.02.2025'"),
            ("29 February 1900", Array("Veröffentlichungsdatum: 29.02.1900 08:00 / Welt\n\nT".utf8), 1, "invalid date '29.02.1900'"),
            ("hour 24", Array("Veröffentlichungsdatum: 10.04.2025 24:00 / Welt\n\nT".utf8), 1, "invalid time '24:00'"),
            ("minute 60", Array("Veröffentlichungsdatum: 10.04.2025 23:60 / Welt\n\nT".utf8), 1, "invalid time '23:60'"),
            ("no category", Array("Veröffentlichungsdatum: 10.04.2025 21:17 /  \n\nT".utf8), 1, "no category after the date"),
            ("one-digit day", Array("Veröffentlichungsdatum: 1.04.2025 21:17 / Welt\n\nT".utf8), 1, expected),
            ("no title", Array("Veröffentlichungsdatum: 10.04.2025 21:17 / Welt\n\n  \n".utf8), 2, "no title after the date line"),
            ("Latin-1", [0x56, 0x65, 0x72, 0xF6] + Array("ffentlichungsdatum: 10.04.2025 21:17 / Welt\n\nT".utf8), 1, "not valid UTF-8"),
            ("invalid UTF-8 in a paragraph",
             Array("Veröffentlichungsdatum: 10.04.2025 21:17 / Welt\n\nT\n\nT\n\nGr".utf8) + [0xFC, 0x65], 7, "not valid UTF-8"),
        ]
        for (name, bytes, line, reason) in cases {
            XCTAssertThrowsError(try SeedFormat.parse(bytes), name) { error in
                let error = error as? SeedFormatError
                XCTAssertEqual(error?.line, line, name)
                XCTAssertEqual(error?.reason, reason, name)
            }
        }
        XCTAssertEqual(
            SeedFormatError(line: 1, reason: expected).description,
            "line 1: expected 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category'")
    }

    func testLeapDaysAreValidInLeapYears() throws {
        for year in ["2024", "2000"] {
            let article = try SeedFormat.parse(Array("Veröffentlichungsdatum: 29.02.\(year) 00:00 / Welt\n\nT".utf8))
            XCTAssertEqual(article.published.day, 29)
        }
    }

    func testATitleWithoutBodyRendersWithoutABodyAndNoFinalNewline() throws {
        let article = try SeedFormat.parse(Array("Veröffentlichungsdatum: 01.01.2024 00:05 / Sport\n\nNur ein Titel".utf8))
        XCTAssertEqual(article.body, "")
        XCTAssertEqual(
            String(decoding: SeedFormat.render(article), as: UTF8.self),
            "Veröffentlichungsdatum: 01.01.2024 00:05 / Sport\n\nNur ein Titel\n\nNur ein Titel")
    }

    func testPublicationTimeIsBerlinWallClock() throws {
        // Summer time (CEST, UTC+2) and winter time (CET, UTC+1).
        let summer = try XCTUnwrap(PublicationTime(year: 2025, month: 4, day: 10, hour: 21, minute: 17).date)
        XCTAssertEqual(summer.timeIntervalSince1970, 1_744_312_620)
        let winter = try XCTUnwrap(PublicationTime(year: 2025, month: 1, day: 10, hour: 21, minute: 17).date)
        XCTAssertEqual(winter.timeIntervalSince1970, 1_736_540_220)
    }

    func testArticleIDRules() {
        XCTAssertTrue(ArticleID.isValid("000_2f910ce6754fa13e"))
        XCTAssertTrue(ArticleID.isValid("Straße-ä"))
        XCTAssertFalse(ArticleID.isValid(""))
        XCTAssertFalse(ArticleID.isValid(".hidden"))
        XCTAssertFalse(ArticleID.isValid("a/b"))
        XCTAssertFalse(ArticleID.isValid("a\\b"))
        XCTAssertFalse(ArticleID.isValid("a\tb"))
        XCTAssertFalse(ArticleID.isValid("a\u{7F}"))
        XCTAssertFalse(ArticleID.isValid(String(repeating: "x", count: 256)))
        XCTAssertTrue(ArticleID.isValid(String(repeating: "x", count: 255)))
    }
}
