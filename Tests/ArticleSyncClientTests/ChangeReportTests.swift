@testable import ArticleSyncClient
import Testing

@Suite("itemized change lines")
struct ChangeReportTests {
    @Test func linesReadLikeRsyncItemize() {
        #expect(ChangeItem(.added, id: "000_ab", title: "Gespräche in Istanbul").line == "+ 000_ab Gespräche in Istanbul")
        #expect(ChangeItem(.changed, id: "000_ab", title: "Neu").line == "~ 000_ab Neu")
        #expect(ChangeItem(.deleted, id: "000_ab", title: "ignored").line == "- 000_ab")
        #expect(ChangeItem(.added, id: "x", title: nil).line == "+ x")
    }

    @Test func controlCharactersFromAServerCannotDriveTheTerminal() {
        let line = ChangeItem(.added, id: "a\u{1B}]0;owned\u{07}", title: "t\r- fake").line
        #expect(!line.contains("\u{1B}") && !line.contains("\r") && !line.contains("\u{07}"))
        #expect(line == "+ a\\u{1B}]0;owned\\u{07} t\\u{0D}- fake")
    }

    @Test func countsAndSummariesForRunsAndDryRuns() {
        var report = ChangeReport(itemized: false)
        #expect(report.summary(dryRun: false) == "no changes")
        #expect(report.summary(dryRun: true) == "nothing would change")
        report.record(.added, id: "a", title: "A")
        report.record(.added, id: "b")
        report.record(.changed, id: "c", title: "C")
        report.record(.deleted, id: "d")
        #expect(report.items.isEmpty)
        #expect(report.counts == ChangeCounts(added: 2, changed: 1, deleted: 1))
        #expect(report.summary(dryRun: false) == "2 added, 1 changed, 1 deleted")
        #expect(report.summary(dryRun: true) == "would add 2, change 1, delete 1")

        var itemized = ChangeReport(itemized: true)
        itemized.record(.deleted, id: "d")
        itemized.record(.added, id: "a", title: "A")
        #expect(itemized.items.map(\.line) == ["- d", "+ a A"])
    }
}
