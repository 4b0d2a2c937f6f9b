import ArticleModel

/// An article ready to be written to the canonical store: hashed, encoded and compressed, work
/// that is done before (and outside) the write transaction, in parallel when importing.
///
/// It holds what the row needs (the listing columns, the hash, the compressed document) and no
/// more: an import holds a chunk of them while the writer works through the previous one, and the
/// article's text would be most of that memory.
struct PreparedArticle: Sendable {
    var published: PublicationTime
    var category: String
    var title: String
    var contentHash: [UInt8]
    var documentLength: Int
    var compressed: [UInt8]
    /// The uncompressed document, kept for an edit: compressed again against the previous
    /// source, it may be sent as a smaller DELTA (§7.4). Nil when the article was new as prepared;
    /// should it have gained a live row in between, it is stored without a delta, which is valid.
    var document: [UInt8]?

    init(article: Article, contentHash: [UInt8], deflater: PresetDeflater?, keepsDocument: Bool = true) {
        published = article.published
        category = article.category
        title = article.title
        self.contentHash = contentHash
        let document = ArticleDocument.encode(article)
        documentLength = document.count
        compressed = deflater?.compress(document) ?? ArticleCompression.compressDocument(document, dictionary: nil)
        self.document = keepsDocument ? document : nil
    }
}
