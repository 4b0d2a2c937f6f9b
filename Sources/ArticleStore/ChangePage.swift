/// One read of changes for a pull, with the meta state of the same read transaction: the rows are
/// complete exactly when `snapshot.horizon` has not passed the revision they were read after.
public struct ChangePage: Sendable, Hashable {
    /// Increasing revisions.
    public var changes: [StoredChange]
    public var snapshot: StoreSnapshot

    public init(changes: [StoredChange], snapshot: StoreSnapshot) {
        self.changes = changes
        self.snapshot = snapshot
    }
}
