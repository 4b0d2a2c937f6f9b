import ArticleModel

/// A live article with its exact source, as the store holds it.
public struct StoredArticle: Sendable, Hashable {
    public var id: String
    public var revision: UInt64
    public var contentHash: [UInt8]
    public var article: Article

    public init(id: String, revision: UInt64, contentHash: [UInt8], article: Article) {
        self.id = id
        self.revision = revision
        self.contentHash = contentHash
        self.article = article
    }
}
