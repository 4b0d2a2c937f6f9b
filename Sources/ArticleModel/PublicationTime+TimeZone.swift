import Foundation

extension PublicationTime {
    /// Seed files give the time on the Europe/Berlin wall clock, as written, without an offset.
    public static let timeZoneIdentifier = "Europe/Berlin"

    /// The instant this wall-clock time denotes in Europe/Berlin. In the hour repeated at the end of
    /// summer time the earlier instant is taken; a time skipped at its start moves forward an hour,
    /// as Foundation does. Nil only if the time zone database lacks Europe/Berlin.
    public var date: Date? {
        guard let zone = TimeZone(identifier: Self.timeZoneIdentifier) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))
    }
}
