import ArticleModel
import XCTest

final class ArticleDocumentHeadingTests: XCTestCase {
    let canonical = Array(SeedFormatTests.canonical.utf8)

    func testACanonicalDocumentsHeadingAndSourcePartsAreWhatTheFullDecodeGives() throws {
        let article = try SeedFormat.parse(canonical)
        let document = ArticleDocument.encode(article)
        let heading = try ArticleDocument.decodeHeading(document)
        XCTAssertEqual(heading.published, article.published)
        XCTAssertEqual(heading.category, article.category)
        XCTAssertEqual(heading.title, article.title)
        XCTAssertEqual(Array(heading.body), Array(article.body.utf8))
        XCTAssertEqual(Array(heading.sourceParts.joined()), canonical)
        XCTAssertEqual(heading.sourceLength, canonical.count)
    }

    func testADocumentWithItsSourceVerbatimHashesThatSource() throws {
        let messy = Array(("\u{FEFF}" + SeedFormatTests.canonical.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n").utf8)
        let document = ArticleDocument.encode(try SeedFormat.parse(messy))
        let heading = try ArticleDocument.decodeHeading(document)
        XCTAssertEqual(Array(heading.sourceParts.joined()), messy)
        XCTAssertEqual(heading.sourceLength, messy.count)
        XCTAssertEqual(Array(heading.body), Array(try SeedFormat.parse(messy).body.utf8), "the body, not the verbatim source")
    }

    func testAnArticleWithoutBodyRendersWithoutTheTrailingBlankLine() throws {
        let article = Article(
            published: PublicationTime(year: 2024, month: 2, day: 29, hour: 0, minute: 5), category: "Sport", title: "Titel", body: "",
            source: [])
        let rendered = SeedFormat.render(article)
        let document = ArticleDocument.encode(Article(
            published: article.published, category: article.category, title: article.title, body: "", source: rendered))
        XCTAssertEqual(Array(try ArticleDocument.decodeHeading(document).sourceParts.joined()), rendered)
    }

    func testTheChecksOfTheFullDecodeStillRefuse() throws {
        let document = ArticleDocument.encode(try SeedFormat.parse(canonical))
        var badTime = document
        badTime[5] = 31  // 31 April
        var badFlags = document
        badFlags[1] = 0x02
        var badTitle = document
        let titleAt = 8 + 2 + Int(document[8]) << 8 + Int(document[9]) + 2
        badTitle[titleAt] = 0xFF
        for (name, bytes) in [("time", badTime), ("flags", badFlags), ("title", badTitle), ("truncated", Array(document.dropLast())),
                              ("trailing", document + [0])] {
            XCTAssertThrowsError(try ArticleDocument.decodeHeading(bytes), name)
            XCTAssertThrowsError(try ArticleDocument.decode(bytes), name)
        }
    }
}
