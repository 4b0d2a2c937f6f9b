/// What a push did with one write (PROTOCOL.md §5.7).
public struct StoreWriteOutcome: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        case applied, unchanged, conflict, notFound
        /// The write cannot be stored (its id, or a document over a limit); the other writes of the
        /// push are judged on their own.
        case invalid(reason: String)
    }
    public var status: Status
    /// applied: the new revision; otherwise the article's current revision (0 if not live).
    public var revision: UInt64

    public init(status: Status, revision: UInt64) {
        self.status = status
        self.revision = revision
    }
}
