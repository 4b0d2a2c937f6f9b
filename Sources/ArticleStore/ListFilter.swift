import ArticleModel

/// Which live articles a listing shows.
public struct ListFilter: Sendable, Hashable {
    public var category: String?
    public var from: PublicationTime?
    public var to: PublicationTime?
    public var limit: Int?
    public init(category: String? = nil, from: PublicationTime? = nil, to: PublicationTime? = nil, limit: Int? = nil) {
        self.category = category
        self.from = from
        self.to = to
        self.limit = limit
    }
}
