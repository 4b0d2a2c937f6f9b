import ArticleModel

/// One write of a push (PROTOCOL.md §5.7).
public struct StoreWrite: Sendable, Hashable {
    public enum Operation: Sendable, Hashable {
        case put(Article)
        case delete
    }
    public static let anyRevision = UInt64.max
    public var id: String
    public var expectedRevision: UInt64
    public var operation: Operation

    public init(id: String, expectedRevision: UInt64, operation: Operation) {
        self.id = id
        self.expectedRevision = expectedRevision
        self.operation = operation
    }

    /// Why this write cannot be stored, judged on the write alone (§5.7 step 1): an id or a document
    /// the store cannot hold. Nil when it can be.
    var problem: String? {
        if let problem = ArticleID.problem(with: id) { return problem }
        guard case .put(let article) = operation else { return nil }
        if article.source.isEmpty { return "the article has an empty source" }
        if !ArticleDocument.canEncode(article) {
            return "the title or category exceeds 65,535 bytes, the most a document can hold"
        }
        return nil
    }
}
