import ArticleModel
import ArticleSyncProtocol
import Testing

/// Decodes a change's document the way a client must (PROTOCOL.md §7), and checks its content hash.
func decodeArticle(_ change: ArticleChange, dictionaries: [UInt32: [UInt8]] = [:], baseSource: [UInt8]? = nil) throws -> Article {
    let data = Array(change.data.readableBytesView)
    let document: [UInt8]
    switch change.encoding {
    case .raw:
        #expect(data.count == Int(change.documentLength))
        document = data
    case .zlib:
        document = try ArticleCompression.inflateDocument(data, documentLength: Int(change.documentLength)) { dictionaries[$0] }
    case .delta:
        guard let baseSource else { throw TestFailure("a DELTA without its base") }
        document = try ArticleCompression.inflateDelta(data, documentLength: Int(change.documentLength), baseSource: baseSource)
    }
    let article = try ArticleDocument.decode(document)
    #expect(Fixtures.sha256(article.source) == change.contentHash, "content hash of '\(change.id)'")
    return article
}

extension Change {
    var article: ArticleChange? {
        if case .article(let article) = self { return article }
        return nil
    }
}
