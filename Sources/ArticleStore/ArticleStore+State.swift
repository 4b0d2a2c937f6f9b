import ArticleModel
import Foundation
import GRDB

/// The single `store_meta` row, read at the start of a write transaction, changed in memory by
/// every change of it, and written back once before commit.
struct MetaState {
    var head: UInt64
    var horizon: UInt64
    var liveCount: UInt64
    var digest: StoreDigest
    var dictionaryID: UInt32?
    var upstreamStoreID: [UInt8]?
    var cursor: UInt64

    static func load(_ db: Database) throws -> MetaState {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM store_meta") else {
            throw StoreError("the store has no meta row: it is not an articlesync store")
        }
        let digestBytes: Data = row["digest"]
        return MetaState(
            head: UInt64(clamping: row["head"] as Int64),
            horizon: UInt64(clamping: row["horizon"] as Int64),
            liveCount: UInt64(clamping: row["live_count"] as Int64),
            digest: StoreDigest(bytes: [UInt8](digestBytes)) ?? .zero,
            dictionaryID: (row["dictionary_id"] as Int64?).map { UInt32(truncatingIfNeeded: $0) },
            upstreamStoreID: (row["upstream_store_id"] as Data?).map { [UInt8]($0) },
            cursor: UInt64(clamping: row["cursor"] as Int64))
    }

    func save(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE store_meta SET head = ?, horizon = ?, live_count = ?, digest = ?, dictionary_id = ?,
                    upstream_store_id = ?, cursor = ?
                """
        ).execute(arguments: [
            Int64(head), Int64(horizon), Int64(liveCount), Data(digest.bytes), dictionaryID.map { Int64($0) },
            upstreamStoreID.map { Data($0) }, Int64(cursor),
        ])
    }

    /// Records the digest as of `head` (canonical: every revision, so VERIFY can ask for any).
    func logDigest(_ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO digest_log (revision, live_count, digest) VALUES (?, ?, ?)")
            .execute(arguments: [Int64(head), Int64(liveCount), Data(digest.bytes)])
    }
}

/// What the store holds for an id, live or tombstone.
struct ExistingRow {
    var rowid: Int64
    var revision: UInt64
    var deleted: Bool
    var contentHash: [UInt8]?

    var liveRevision: UInt64 { deleted ? 0 : revision }

    static func fetch(_ db: Database, id: String) throws -> ExistingRow? {
        let statement = try db.cachedStatement(sql: "SELECT rowid, revision, deleted, content_hash FROM article WHERE id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [id]) else { return nil }
        return ExistingRow(
            rowid: row[0], revision: UInt64(clamping: row[1] as Int64), deleted: row[2],
            contentHash: (row[3] as Data?).map { [UInt8]($0) })
    }
}

/// An article ready to be written to the canonical store: hashed, encoded and compressed, work
/// that is done before (and outside) the write transaction, in parallel when importing.
struct PreparedArticle: Sendable {
    var article: Article
    var contentHash: [UInt8]
    var document: [UInt8]
    var compressed: [UInt8]

    init(article: Article, contentHash: [UInt8], deflater: PresetDeflater?) {
        self.article = article
        self.contentHash = contentHash
        document = ArticleDocument.encode(article)
        compressed = deflater?.compress(document) ?? ArticleCompression.compressDocument(document, dictionary: nil)
    }
}

extension PublicationTime {
    /// YYYYMMDDHHMM: sorts like the time itself.
    var sortKey: Int64 {
        Int64(year) * 100_000_000 + Int64(month) * 1_000_000 + Int64(day) * 10_000 + Int64(hour) * 100 + Int64(minute)
    }

    init(sortKey: Int64) {
        self.init(
            year: Int(sortKey / 100_000_000), month: Int(sortKey / 1_000_000 % 100), day: Int(sortKey / 10_000 % 100),
            hour: Int(sortKey / 100 % 100), minute: Int(sortKey % 100))
    }
}
