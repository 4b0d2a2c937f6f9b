import ArticleModel
import Foundation
import GRDB

/// A change of a pull as received, before it is applied (the stage, below). The store knows nothing
/// of the wire: the sync engine turns a BATCH's changes into these and back.
public struct StagedChange: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case tombstone
        /// `encoding` and `baseHash` as in PROTOCOL.md §5.4 (baseHash for a DELTA only).
        case article(contentHash: [UInt8], encoding: UInt8, baseHash: [UInt8]?, documentLength: UInt32, data: [UInt8])
    }

    public var revision: UInt64
    public var id: String
    public var kind: Kind
    /// The article's path as imported on the server, when it sent one.
    public var sourcePath: String?

    public init(revision: UInt64, id: String, kind: Kind, sourcePath: String? = nil) {
        self.revision = revision
        self.id = id
        self.kind = kind
        self.sourcePath = sourcePath
    }

    /// The bytes this change holds once decoded (0 for a tombstone).
    public var documentLength: Int {
        if case .article(_, _, _, let length, _) = kind { return Int(length) }
        return 0
    }
}

/// A pull held in the stage: the store it comes from and the revision it reaches.
public struct StageState: Sendable, Hashable {
    public var upstreamStoreID: StoreID
    /// The stage holds every change in (the replica's cursor, cursor].
    public var cursor: UInt64

    public init(upstreamStoreID: StoreID, cursor: UInt64) {
        self.upstreamStoreID = upstreamStoreID
        self.cursor = cursor
    }
}

/// Live articles of the replica that the staged changes would delete.
public struct StagedDeletions: Sendable, Hashable {
    public var count: Int
    /// The first few ids, in byte order.
    public var firstIDs: [String]

    public init(count: Int, firstIDs: [String]) {
        self.count = count
        self.firstIDs = firstIDs
    }
}

/// The stage: a pull downloaded in full before any of it is applied.
///
/// A pull's deletions must be known before anything is applied, so that the mass-deletion guard
/// can refuse the whole pull with nothing changed; yet a pull streams batches, and each batch must
/// be committed with its cursor (a pull killed at any instant resumes, memory holds one batch).
/// Counting tombstones as they pass and applying the rest would change the replica (and advance
/// its cursor past deletions it has not made) before the guard decides; holding the batches in
/// memory is unbounded. So a pull that could delete something (the replica holds articles), once
/// it outgrows what the sync engine holds in memory (a few megabytes), is written here, batch by batch, each batch with the stage's own cursor in one transaction
/// (a killed pull resumes its stage from there). Once the server says CAUGHT_UP, the guard counts
/// the deletions in one query; then the stage is applied in slices, each slice with its cursor
/// (`applyBatch` drops the staged rows up to that cursor in the same transaction). A refused pull
/// leaves the stage for `pull --force`, and the replica exactly as it was.
///
/// The cost is writing such a pull twice (its compressed bytes, then the articles); a bootstrap
/// into an empty replica, which cannot delete anything, is applied directly.
extension ReplicaStore {
    public func stageState() async throws -> StageState? {
        try await file.pool.read { db in try Self.stageState(db) }
    }

    static func stageState(_ db: Database) throws -> StageState? {
        guard let row = try Row.fetchOne(db, sql: "SELECT stage_upstream, stage_cursor FROM store_meta"),
            let upstream = row["stage_upstream"] as Data?, let cursor = row["stage_cursor"] as Int64?
        else { return nil }
        guard let upstreamID = StoreID(bytes: upstream) else {
            throw StoreError("the replica's stage names a store id of \(upstream.count) bytes, not 16: the file is damaged")
        }
        return StageState(upstreamStoreID: upstreamID, cursor: UInt64(clamping: cursor))
    }

    /// Adds one server batch to the stage and moves its cursor to the batch's end, `cursor`, in one
    /// transaction. Every change must come after the stage's cursor (or the replica's, for a new
    /// stage), in increasing order.
    public func stage(_ changes: [StagedChange], upstreamStoreID: StoreID, through cursor: UInt64) async throws {
        guard cursor <= UInt64(Int64.max) else { throw StoreError("cursor \(cursor) is beyond what a store can record") }
        for change in changes {
            if let problem = ArticleID.problem(with: change.id) { throw StoreError("cannot stage article: \(problem)") }
            guard change.revision <= cursor else { throw StoreError("a staged change at \(change.revision) is beyond the stage's cursor \(cursor)") }
        }
        try await file.pool.write { db in
            let meta = try MetaState.load(db)
            var after = meta.cursor
            if let stage = try Self.stageState(db) {
                guard stage.upstreamStoreID == upstreamStoreID else { throw StoreError("the stage holds another store's changes") }
                after = stage.cursor
            }
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO pull_stage (revision, batch_to, id, tombstone, content_hash, encoding, base_hash, document_length, data, source_path)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for change in changes {
                guard change.revision > after else {
                    throw StoreError("a staged change at \(change.revision) does not come after \(after)")
                }
                after = change.revision
                switch change.kind {
                case .tombstone:
                    try insert.execute(arguments: [Int64(change.revision), Int64(cursor), change.id, true, nil, nil, nil, nil, nil, nil])
                case .article(let hash, let encoding, let baseHash, let length, let data):
                    try insert.execute(arguments: [
                        Int64(change.revision), Int64(cursor), change.id, false, Data(hash), Int64(encoding), baseHash.map { Data($0) },
                        Int64(length), Data(data), change.sourcePath,
                    ])
                }
            }
            try db.execute(
                sql: "UPDATE store_meta SET stage_upstream = ?, stage_cursor = ?",
                arguments: [Data(upstreamStoreID.bytes), Int64(max(cursor, after))])
        }
    }

    /// How many changes the stage holds (0 when there is none).
    public func stagedChangeCount() async throws -> Int {
        try await file.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM pull_stage") ?? 0 }
    }

    /// Drops the whole stage (another store, bad data in it, or a re-pull without deltas).
    public func discardStage() async throws {
        try await file.pool.write { db in
            try db.execute(sql: "DELETE FROM pull_stage")
            try db.execute(sql: "UPDATE store_meta SET stage_upstream = NULL, stage_cursor = NULL")
        }
    }

    /// Staged rows up to `cursor` are applied: they leave the stage, and the stage itself once it
    /// is all applied. Part of the transaction that applies them.
    func dropStaged(_ db: Database, through cursor: UInt64) throws {
        try db.cachedStatement(sql: "DELETE FROM pull_stage WHERE revision <= ?").execute(arguments: [Int64(clamping: cursor)])
        try db.cachedStatement(sql: "UPDATE store_meta SET stage_upstream = NULL, stage_cursor = NULL WHERE stage_cursor <= ?")
            .execute(arguments: [Int64(clamping: cursor)])
    }

    /// The live articles that applying the stage would delete: those whose latest staged change is
    /// a tombstone (an id deleted and then written again in the same pull survives).
    public func stagedDeletions(naming first: Int = 10) async throws -> StagedDeletions {
        try await file.pool.read { db in
            let deleting = """
                FROM pull_stage s JOIN article a ON a.id = s.id AND a.deleted = 0
                WHERE s.tombstone = 1 AND s.revision = (SELECT max(t.revision) FROM pull_stage t WHERE t.id = s.id)
                """
            let count = try Int.fetchOne(db, sql: "SELECT count(*) " + deleting) ?? 0
            let ids = try String.fetchAll(db, sql: "SELECT s.id " + deleting + " ORDER BY s.id LIMIT ?", arguments: [max(0, first)])
            return StagedDeletions(count: count, firstIDs: ids)
        }
    }

    /// The live articles among `ids`: what a pull held in memory would delete (`stagedDeletions`
    /// for one in the stage).
    public func liveArticles(among ids: [String], naming first: Int = 10) async throws -> StagedDeletions {
        try await file.pool.read { db in
            var live: [ArticleKey] = []
            // Below SQLite's default limit of bound parameters.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(start + 500, ids.count)]
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let found = try String.fetchAll(
                    db, sql: "SELECT id FROM article WHERE deleted = 0 AND id IN (\(marks))", arguments: StatementArguments(Array(chunk)))
                live += found.map { ArticleKey($0) }
            }
            live.sort()
            return StagedDeletions(count: live.count, firstIDs: live.prefix(max(0, first)).map(\.id))
        }
    }

    /// The next staged server batch after `revision`: its changes in order and the revision it
    /// ends at (applied as the server sent it, a batch at a time, each with its cursor). Nil when
    /// the stage holds nothing more.
    public func stagedBatch(after revision: UInt64) async throws -> (changes: [StagedChange], through: UInt64)? {
        try await file.pool.read { db in
            guard let end = try Int64.fetchOne(
                db, sql: "SELECT batch_to FROM pull_stage WHERE revision > ? ORDER BY revision LIMIT 1", arguments: [Int64(clamping: revision)])
            else { return nil }
            let changes = try Row.fetchAll(
                db,
                sql: """
                    SELECT revision, id, tombstone, content_hash, encoding, base_hash, document_length, data, source_path
                    FROM pull_stage WHERE revision > ? AND revision <= ? ORDER BY revision
                    """,
                arguments: [Int64(clamping: revision), end]
            ).map(Self.stagedChange)
            return (changes, UInt64(clamping: end))
        }
    }

    private static func stagedChange(_ row: Row) throws -> StagedChange {
        let revision = UInt64(clamping: row["revision"] as Int64)
        let id: String = row["id"]
        if row["tombstone"] as Bool { return StagedChange(revision: revision, id: id, kind: .tombstone) }
        guard let hash = row["content_hash"] as Data?, let encoding = row["encoding"] as Int64?,
            let length = row["document_length"] as Int64?, let data = row["data"] as Data?
        else { throw StoreError("the staged change at \(revision) is incomplete") }
        return StagedChange(
            revision: revision, id: id,
            kind: .article(
                contentHash: [UInt8](hash), encoding: UInt8(truncatingIfNeeded: encoding), baseHash: (row["base_hash"] as Data?).map { [UInt8]($0) },
                documentLength: UInt32(truncatingIfNeeded: length), data: [UInt8](data)),
            sourcePath: row["source_path"])
    }
}
