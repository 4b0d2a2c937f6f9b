import ArticleModel

/// The canonical store's meta state as of one read transaction: every value belongs to the same
/// instant, so a caller never sees a head from before a write with a horizon from after it.
public struct StoreSnapshot: Sendable, Hashable {
    /// The last revision assigned.
    public var head: UInt64
    /// The oldest revision a client can resume from (§7.5): tombstones at or below it are gone.
    public var horizon: UInt64
    /// Live articles at the head.
    public var articleCount: UInt64
    /// The digest at the head (PROTOCOL.md §7.6).
    public var digest: SHA256Hash

    public init(head: UInt64, horizon: UInt64, articleCount: UInt64, digest: SHA256Hash) {
        self.head = head
        self.horizon = horizon
        self.articleCount = articleCount
        self.digest = digest
    }

    /// The digest and count as of the head.
    public var digestState: DigestState {
        DigestState(revision: head, articleCount: articleCount, digest: digest)
    }
}
