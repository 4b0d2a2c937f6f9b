/// A replica's meta state as of one read transaction: what it follows, how far, and what it holds
/// there.
public struct ReplicaSnapshot: Sendable, Hashable {
    /// The store the replica follows (16 bytes); nil for a new replica.
    public var upstreamStoreID: [UInt8]?
    /// The upstream revision the replica holds every change up to.
    public var cursor: UInt64
    /// Live articles at the cursor.
    public var articleCount: UInt64
    /// The digest at the cursor (32 bytes, PROTOCOL.md §7.6).
    public var digest: [UInt8]

    public init(upstreamStoreID: [UInt8]?, cursor: UInt64, articleCount: UInt64, digest: [UInt8]) {
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
