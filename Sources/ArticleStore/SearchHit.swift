public struct SearchHit: Sendable, Hashable {
    public var summary: ArticleSummary
    /// Text around the match, the matched words marked with « ».
    public var snippet: String
    public var rank: Double

    public init(summary: ArticleSummary, snippet: String, rank: Double) {
        self.summary = summary
        self.snippet = snippet
        self.rank = rank
    }
}
