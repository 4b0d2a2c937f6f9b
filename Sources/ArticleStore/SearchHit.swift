public struct SearchHit: Sendable, Hashable {
    public var summary: ArticleSummary
    /// Text around the match, the matched words marked with « ».
    public var snippet: String
    /// The negated bm25 score (title weighted 5:1), larger is better; 0 when the hits are not
    /// ranked (`SearchResult.ranked`: too many matches).
    public var rank: Double

    public init(summary: ArticleSummary, snippet: String, rank: Double) {
        self.summary = summary
        self.snippet = snippet
        self.rank = rank
    }
}
