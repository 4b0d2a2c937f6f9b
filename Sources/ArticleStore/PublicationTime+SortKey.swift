import ArticleModel

extension PublicationTime {
    /// YYYYMMDDHHMM: sorts like the time itself.
    var sortKey: Int64 {
        Int64(year) * 100_000_000 + Int64(month) * 1_000_000 + Int64(day) * 10_000 + Int64(hour) * 100 + Int64(minute)
    }

    init(sortKey: Int64) {
        self.init(
            year: Int(sortKey / 100_000_000), month: Int(sortKey / 1_000_000 % 100), day: Int(sortKey / 10_000 % 100),
            hour: Int(sortKey / 100 % 100), minute: Int(sortKey % 100))
    }
}
