/// Knobs of a sync. Defaults suit an interactive pull.
public struct SyncOptions: Sendable {
    /// Target BATCH payload size; 0 = the server's default (1 MiB). A quarter of that keeps the
    /// frames in flight and the decoded batches small: a 100,000-article pull peaked 15 MB lower,
    /// and was no slower (measured on loopback).
    public var budget: UInt32 = SyncOptions.defaultBudget
    public static let defaultBudget: UInt32 = 262_144
    /// false = a mirror replica (no search index), true = a reading replica, nil = keep what an
    /// existing replica is (a new one gets the index).
    public var fullTextIndex: Bool? = nil
    /// Skip the mass-deletion guard.
    public var force = false
    /// A pull (or a re-bootstrap) that would remove more than this fraction of the replica's live
    /// articles stops before changing anything and asks for `force`.
    public var deletionGuardFraction = 0.10

    /// The most deletions the guard lets through for a replica of `liveArticles`: a pull, a
    /// re-bootstrap's swap and a dry run's verdict all judge by this.
    func deletionLimit(of liveArticles: Int) -> Int {
        Int((Double(liveArticles) * deletionGuardFraction).rounded(.down))
    }
    /// A guarded pull's response is held in memory up to this many bytes of change data, then in
    /// the replica's stage (`HeldPull`).
    public var heldPullLimit = 4 << 20
    /// `--keep-deleted DAYS`: what pulls delete stays in the replica as kept articles (readable,
    /// not live) for this many days; nil: deletions remove the article.
    public var keepDeletedDays: Int? = nil
    /// follow: how long each PULL waits on the server for new revisions.
    public var followWaitMillis: UInt32 = 30_000
    /// follow: reconnect delays (exponential with jitter between these).
    public var initialBackoff: Duration = .milliseconds(250)
    public var maximumBackoff: Duration = .seconds(30)
    /// A bootstrap first asks the server how many articles it holds (VERIFY at its head), so that a
    /// progress display can count articles to fetch; off unless something displays it.
    public var countArticlesFirst = false
    /// A dry run looks up in the replica, records and lists the changes it read this many at a time.
    public var dryRunPageSize = SyncOptions.defaultDryRunPageSize
    public static let defaultDryRunPageSize = 2_048
    /// A re-bootstrap reports each article its swap adds, changes or deletes against the old
    /// replica (`SyncEvent.rebootstrapDifference`), read from the two files before the swap;
    /// off, it counts them only.
    public var listsRebootstrapDifferences = false

    public init() {}
}
