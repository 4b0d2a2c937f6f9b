import ArticleModel
import XCTest

final class SeedFormatRenderTests: XCTestCase {
    private func expected(_ time: PublicationTime, _ category: String, _ title: String, _ body: String) -> [UInt8] {
        var text = "Veröffentlichungsdatum: \(time) / \(category)\n\n\(title)\n\n\(title)"
        if !body.isEmpty { text += "\n\n" + body }
        return Array(text.utf8)
    }

    func testRenderWritesTheTimeLikeItsDescriptionForEveryFieldWidth() {
        let times = [
            PublicationTime(year: 2025, month: 4, day: 10, hour: 21, minute: 17),
            PublicationTime(year: 987, month: 12, day: 1, hour: 0, minute: 5),
            PublicationTime(year: 5, month: 1, day: 31, hour: 9, minute: 59),
            PublicationTime(year: 12345, month: 7, day: 7, hour: 23, minute: 0),
        ]
        for time in times {
            XCTAssertEqual(
                SeedFormat.render(published: time, category: "Politik", title: "Wahl in Köln", body: "Absatz eins.\n\nZwei."),
                expected(time, "Politik", "Wahl in Köln", "Absatz eins.\n\nZwei."), "\(time)")
            XCTAssertEqual(
                SeedFormat.render(published: time, category: "Sport", title: "Tor", body: ""),
                expected(time, "Sport", "Tor", ""), "\(time), no body")
        }
    }
}
