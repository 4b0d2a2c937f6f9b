// API contract (filled in by the store/model work): see Protocol/PROTOCOL.md §7.

/// The publication time as written in the source: Europe/Berlin wall clock (PROTOCOL.md §7.1).
public struct PublicationTime: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    public static func < (a: PublicationTime, b: PublicationTime) -> Bool {
        (a.year, a.month, a.day, a.hour, a.minute) < (b.year, b.month, b.day, b.hour, b.minute)
    }

    /// "DD.MM.YYYY HH:MM", as in the seed format.
    public var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = String(repeating: "0", count: max(0, 4 - String(self.year).count)) + String(self.year)
        return "\(two(day)).\(two(month)).\(year) \(two(hour)):\(two(minute))"
    }
}

/// An article: its parsed fields and its exact source bytes.
public struct Article: Hashable, Sendable {
    public var published: PublicationTime
    public var category: String
    public var title: String
    /// The paragraphs joined with "\n\n".
    public var body: String
    /// The exact source file (what an export writes back, byte for byte).
    public var source: [UInt8]

    public init(published: PublicationTime, category: String, title: String, body: String, source: [UInt8]) {
        self.published = published
        self.category = category
        self.title = title
        self.body = body
        self.source = source
    }

    public var paragraphs: [String] {
        body.isEmpty ? [] : body.split(separator: "\n\n", omittingEmptySubsequences: false).map(String.init)
    }
}
