import ArticleStore
import ArticleModel
import ArticleSyncProtocol

/// What a sync reports while it runs: enough for a progress bar, a follow log and JSON lines.
public enum SyncEvent: Sendable {
    /// Handshake done.
    case connected(Welcome)
    /// A PULL went out: the replica is at `fromRevision`, the server's head was `headRevision`.
    /// A bootstrap knows `articles`, the live articles it will fetch (the server's count at its
    /// head), and whether the search index is finished after them (`indexAfter`).
    case pulling(fromRevision: UInt64, headRevision: UInt64, rebootstrap: Bool, articles: UInt64? = nil, indexAfter: Bool = false)
    /// One batch and its cursor are committed.
    case batchApplied(AppliedBatch)
    /// The replica is up to date with the server as of `headRevision`.
    case caughtUp(headRevision: UInt64)
    /// The server cannot resume our cursor; a re-bootstrap starts.
    case snapshotRequired(SnapshotRequired)
    /// One way the re-bootstrapped copy differs from the old replica, before the swap
    /// (`SyncOptions.listsRebootstrapDifferences`).
    case rebootstrapDifference(ChangeItem)
    /// The re-bootstrapped replica replaced the old one.
    case rebootstrapped(RebootstrapReport)
    /// An edit came as a delta against a version we do not hold: pulling again without deltas.
    case retryingWithoutDeltas(reason: String)
    /// The replica's search index was left unbuilt by an earlier pull that stopped; this pull builds it.
    case searchIndexPending
    /// The search index is being built in bulk (after a bootstrap): `done` of `total` articles.
    case indexing(done: Int, total: Int)
    /// The search index is complete.
    case indexBuilt
    /// follow: the connection failed; trying again after `delay`.
    case reconnecting(after: Duration, reason: String)
}

public struct AppliedChange: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case put(title: String)
        case delete
    }
    public var revision: UInt64
    public var id: String
    public var kind: Kind
    /// What the change did to the replica, when the replica recorded it (an incremental pull);
    /// nil in a bootstrap, where every put is new.
    public var arrival: ArrivalKind? = nil
}

public struct AppliedBatch: Sendable {
    public var fromRevision: UInt64
    public var toRevision: UInt64
    public var changes: [AppliedChange]
    /// Bytes of article data received for this batch (as sent: compressed).
    public var bytes: Int
    /// Applied to a re-bootstrap's copy, not to the replica: its changes say what the copy
    /// received, not how the replica changes (`rebootstrapDifference` does).
    public var rebuilding = false

    mutating func noteArrivals(_ arrivals: [Arrival]) {
        let kinds = Dictionary(arrivals.map { ($0.revision, $0.kind) }, uniquingKeysWith: { a, _ in a })
        for index in changes.indices { changes[index].arrival = kinds[changes[index].revision] }
    }
}

public struct RebootstrapReport: Sendable, Hashable {
    public var reason: SnapshotReason
    /// Live articles before and after.
    public var before: Int
    public var after: Int
    /// Articles of the old replica the new store does not hold.
    public var removed: Int
    /// Articles the new replica holds and the old one did not, and those it holds another
    /// version of.
    public var added = 0
    public var changed = 0
}

/// What one `pull` did.
public struct PullReport: Sendable {
    public var storeID: StoreID
    public var startCursor: UInt64
    public var cursor: UInt64
    public var applied: Int = 0
    public var deleted: Int = 0
    public var bytes: Int = 0
    public var rebootstrap: RebootstrapReport? = nil
    /// `--keep-deleted`: kept articles forgotten by this pull, older than the days asked for.
    public var expired: Int = 0
}
