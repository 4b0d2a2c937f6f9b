import ArticleModel
import Foundation
import GRDB

/// The single `store_meta` row, read at the start of a write transaction, changed in memory by
/// every change of it, and written back once before commit. Readers take it whole, in the same
/// transaction as whatever else they read (`StoreSnapshot`, `ReplicaSnapshot`).
struct MetaState {
    var head: UInt64
    var horizon: UInt64
    var liveCount: UInt64
    var digest: StoreDigest
    var dictionaryID: UInt32?
    var upstreamStoreID: StoreID?
    var cursor: UInt64

    static func load(_ db: Database) throws -> MetaState {
        // Read for every batch a server streams and every batch a replica applies: a cached
        // statement is not prepared (and authorized) again each time.
        let statement = try db.cachedStatement(
            sql: "SELECT head, horizon, live_count, digest, dictionary_id, upstream_store_id, cursor FROM store_meta")
        guard let row = try Row.fetchOne(statement) else {
            throw StoreError("the store has no meta row: it is not an articlesync store")
        }
        let digestBytes: Data = row[3]
        return MetaState(
            head: UInt64(clamping: row[0] as Int64),
            horizon: UInt64(clamping: row[1] as Int64),
            liveCount: UInt64(clamping: row[2] as Int64),
            digest: StoreDigest(bytes: [UInt8](digestBytes)) ?? .zero,
            dictionaryID: (row[4] as Int64?).map { UInt32(truncatingIfNeeded: $0) },
            upstreamStoreID: try (row[5] as Data?).map { data in
                guard let id = StoreID(bytes: data) else { throw StoreError("the store's upstream id is \(data.count) bytes, not 16: the file is damaged") }
                return id
            },
            cursor: UInt64(clamping: row[6] as Int64))
    }

    func save(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE store_meta SET head = ?, horizon = ?, live_count = ?, digest = ?, dictionary_id = ?,
                    upstream_store_id = ?, cursor = ?
                """
        ).execute(arguments: [
            Int64(head), Int64(horizon), Int64(liveCount), Data(digest.bytes), dictionaryID.map { Int64($0) },
            upstreamStoreID.map { Data($0.bytes) }, Int64(cursor),
        ])
    }

    /// Records the digest as of `head` (canonical: every revision, so VERIFY can ask for any).
    func logDigest(_ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO digest_log (revision, live_count, digest) VALUES (?, ?, ?)")
            .execute(arguments: [Int64(head), Int64(liveCount), Data(digest.bytes)])
    }
}

extension MetaState {
    /// The canonical store's view of the row.
    var snapshot: StoreSnapshot {
        StoreSnapshot(head: head, horizon: horizon, articleCount: liveCount, digest: digest.value)
    }

    /// A replica's view of the row: it follows its upstream's revisions, so its head is the cursor.
    var replicaSnapshot: ReplicaSnapshot {
        ReplicaSnapshot(upstreamStoreID: upstreamStoreID, cursor: cursor, articleCount: liveCount, digest: digest.value)
    }
}
