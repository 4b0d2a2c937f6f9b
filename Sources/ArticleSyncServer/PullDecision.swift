import ArticleModel
import ArticleSyncProtocol

/// Steps 1-4 of PROTOCOL.md §5.3: whether a PULL can be answered from the client's cursor.
public enum PullDecision: Sendable, Hashable {
    case snapshotRequired(SnapshotReason)
    /// The client is at the head and asked to wait.
    case waitForChange
    /// Stream the changes after the cursor.
    case stream

    public static func decide(_ pull: Pull, storeID: StoreID, head: UInt64, horizon: UInt64) -> PullDecision {
        if pull.storeID.isNone ? pull.sinceRevision != 0 : pull.storeID != storeID {
            return .snapshotRequired(.storeMismatch)
        }
        if pull.sinceRevision > head {
            return .snapshotRequired(.aheadOfServer)
        }
        if pull.sinceRevision > 0, pull.sinceRevision < horizon {
            return .snapshotRequired(.belowHorizon)
        }
        if pull.sinceRevision == head, pull.waitMillis > 0 {
            return .waitForChange
        }
        return .stream
    }

    /// Whether `pull` waits at `knownHead`, a head the store is known to have reached (it may be
    /// further on). Then no store read is needed to decide: the store matches, the cursor is not
    /// ahead, and no horizon is above it, since the horizon never passes the head.
    public static func parksAtKnownHead(_ pull: Pull, storeID: StoreID, knownHead: UInt64) -> Bool {
        guard pull.waitMillis > 0, pull.sinceRevision == knownHead else { return false }
        return pull.storeID.isNone ? pull.sinceRevision == 0 : pull.storeID == storeID
    }

    /// The sentence that travels in SNAPSHOT_REQUIRED.
    public static func explanation(_ reason: SnapshotReason, pull: Pull, head: UInt64, horizon: UInt64) -> String {
        switch reason {
        case .storeMismatch:
            return pull.storeID.isNone
                ? "the cursor \(pull.sinceRevision) names no store; bootstrap from revision 0"
                : "the replica follows store \(pull.storeID), this server holds another store; bootstrap again"
        case .aheadOfServer:
            return "the replica is at revision \(pull.sinceRevision) but the server's head is \(head) (the store was restored from an older copy); bootstrap again"
        case .belowHorizon:
            return "revision \(pull.sinceRevision) is below the horizon \(horizon) (old deletions were purged); bootstrap again"
        }
    }

    /// The sentence of a SNAPSHOT_REQUIRED (BELOW_HORIZON) that ends a stream: a purge removed
    /// deletions the stream had yet to send after `cursor`.
    public static func purgedWhileStreaming(cursor: UInt64, horizon: UInt64) -> String {
        "deletions after revision \(cursor) were purged while this pull streamed (the horizon is now \(horizon)); bootstrap again"
    }
}
