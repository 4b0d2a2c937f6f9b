import ArticleModel

/// One line of a listing: an article without its text.
public struct ArticleSummary: Sendable, Hashable {
    public var id: String
    public var revision: UInt64
    public var published: PublicationTime
    public var category: String
    public var title: String

    public init(id: String, revision: UInt64, published: PublicationTime, category: String, title: String) {
        self.id = id
        self.revision = revision
        self.published = published
        self.category = category
        self.title = title
    }
}
