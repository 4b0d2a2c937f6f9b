@testable import ArticleSyncReader
import ArticleStore
import Foundation
import XCTest

/// A search hit's snippet becomes HTML in one pass, as the three replacements it replaced made it.
final class ReaderSearchSnippetTests: XCTestCase {
    func replaced(_ snippet: String) -> String {
        HTML.escaped(snippet.replacingOccurrences(of: "\n", with: " "))
            .replacingOccurrences(of: ReaderApp.marks.open, with: "<mark>")
            .replacingOccurrences(of: ReaderApp.marks.close, with: "</mark>")
    }

    func testASnippetIsEscapedAndMarkedAsTheReplacementsDidIt() {
        let (open, close) = (ReaderApp.marks.open, ReaderApp.marks.close)
        XCTAssertEqual(
            ReaderApp.markedSnippet("a < b\n\(open)Straße\(close) & \"x\" 's"),
            "a &lt; b <mark>Straße</mark> &amp; &quot;x&quot; &#39;s")
        for snippet in [
            "", "\(open)\(close)", "…die \(open)Größe\(close) und \(open)GROẞE\(close)…", "\u{1}\n\n\(open)<b>\(close)",
            "Zeile\nZeile 🇩🇪 e\u{301}", "\(open)ganz\(close)",
        ] {
            XCTAssertEqual(ReaderApp.markedSnippet(snippet), replaced(snippet), snippet)
        }
    }
}
