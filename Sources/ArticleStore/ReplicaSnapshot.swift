import ArticleModel

/// A replica's meta state as of one read transaction: what it follows, how far, and what it holds
/// there.
public struct ReplicaSnapshot: Sendable, Hashable {
    /// The store the replica follows; nil for a new replica.
    public var upstreamStoreID: StoreID?
    /// The upstream revision the replica holds every change up to.
    public var cursor: UInt64
    /// Live articles at the cursor.
    public var articleCount: UInt64
    /// The digest at the cursor (PROTOCOL.md §7.6).
    public var digest: SHA256Hash

    public init(upstreamStoreID: StoreID?, cursor: UInt64, articleCount: UInt64, digest: SHA256Hash) {
        self.upstreamStoreID = upstreamStoreID
        self.cursor = cursor
        self.articleCount = articleCount
        self.digest = digest
    }

    /// The digest and count as of the cursor.
    public var digestState: DigestState {
        DigestState(revision: cursor, articleCount: articleCount, digest: digest)
    }
}
