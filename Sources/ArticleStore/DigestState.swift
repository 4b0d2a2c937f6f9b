import ArticleModel

/// A store's digest and live count as of one revision (PROTOCOL.md §7.6).
public struct DigestState: Sendable, Hashable {
    public var revision: UInt64
    public var articleCount: UInt64
    public var digest: SHA256Hash

    public init(revision: UInt64, articleCount: UInt64, digest: SHA256Hash) {
        self.revision = revision
        self.articleCount = articleCount
        self.digest = digest
    }
}
