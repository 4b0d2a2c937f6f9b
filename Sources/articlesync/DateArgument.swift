import ArgumentParser
import ArticleModel

/// A calendar day on the command line: YYYY-MM-DD or DD.MM.YYYY (publication times are Berlin wall
/// clock, and so are these days).
struct DayArgument: ExpressibleByArgument, Sendable {
    var year: Int
    var month: Int
    var day: Int

    init?(argument: String) {
        let parts: [Substring]
        if argument.contains("-") {
            parts = argument.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
            (year, month, day) = (y, m, d)
        } else {
            parts = argument.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let d = Int(parts[0]), let m = Int(parts[1]), let y = Int(parts[2]) else { return nil }
            (year, month, day) = (y, m, d)
        }
        // A day the calendar has: 31.02 or 29.02 of a common year is a typo, not the 28th.
        guard (1...9999).contains(year), (1...12).contains(month), (1...SeedFormat.daysIn(month: month, year: year)).contains(day) else {
            return nil
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }

    var startOfDay: PublicationTime { PublicationTime(year: year, month: month, day: day, hour: 0, minute: 0) }
    var endOfDay: PublicationTime { PublicationTime(year: year, month: month, day: day, hour: 23, minute: 59) }
}
