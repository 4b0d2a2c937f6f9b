import ArticleModel

/// The server's store: what serving clients needs of it (PROTOCOL.md §5, §7). The server knows a
/// store only through this protocol, so another database can sit beside `SQLiteCanonicalStore`.
///
/// An implementation assigns revisions in commit order, answers a push only once it is durable,
/// keeps a tombstone per deleted article down to its horizon and the digest of every revision from
/// the horizon to the head. Each call is one read or write transaction of its own.
public protocol CanonicalStore: Sendable {
    /// The store's own random id (16 bytes), stable for its life.
    var storeID: StoreID { get }

    /// The meta state, read in one transaction.
    func snapshot() async throws -> StoreSnapshot

    /// The latest changes with revision > `revision`, increasing, at most `limit` rows, together with
    /// the snapshot of the same read. Tombstones at or below `tombstonesAfter` are left out (a
    /// bootstrap's client holds nothing they delete); 0 sends every tombstone.
    func changes(after revision: UInt64, limit: Int, tombstonesAfter: UInt64) async throws -> ChangePage

    /// Applies a push in one durable transaction; outcomes in input order (§5.7 steps 2-5). A write
    /// the store cannot hold is `.invalid` on its own; the call throws only when the store fails.
    func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome])

    /// The live revision of each id (0 for an unknown id or a tombstone), in one read.
    func liveRevisions(of ids: [String]) async throws -> [String: UInt64]

    /// The live revision of each id in the order given (0 for an unknown id or a tombstone), in one
    /// read. Unlike the dictionary above, two canonically equivalent ids (NFC and NFD "café") get
    /// their own answer: a `[String: _]` merges them (`ArticleKey`).
    func liveRevisions(ofEach ids: [String]) async throws -> [UInt64]

    /// The digest as of `revision` (nil: the head) with the snapshot it was read in. The digest is
    /// nil when the revision is outside [horizon, head].
    func digest(at revision: UInt64?) async throws -> (snapshot: StoreSnapshot, digest: DigestState?)

    /// A dictionary by its id (Adler-32), or nil when the store has none with that id.
    func dictionary(id: UInt32) async throws -> [UInt8]?
}

extension CanonicalStore {
    /// From `liveRevisions(of:)`, for stores that answer only that: exact for ids that no other id
    /// of the request is canonically equivalent to.
    public func liveRevisions(ofEach ids: [String]) async throws -> [UInt64] {
        let revisions = try await liveRevisions(of: ids)
        return ids.map { revisions[$0] ?? 0 }
    }
}
