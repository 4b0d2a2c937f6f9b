import ArticleModel

/// An article ready to be written to the canonical store: hashed, encoded and compressed, work
/// that is done before (and outside) the write transaction, in parallel when importing.
struct PreparedArticle: Sendable {
    var article: Article
    var contentHash: [UInt8]
    var document: [UInt8]
    var compressed: [UInt8]

    init(article: Article, contentHash: [UInt8], deflater: PresetDeflater?) {
        self.article = article
        self.contentHash = contentHash
        document = ArticleDocument.encode(article)
        compressed = deflater?.compress(document) ?? ArticleCompression.compressDocument(document, dictionary: nil)
    }
}
