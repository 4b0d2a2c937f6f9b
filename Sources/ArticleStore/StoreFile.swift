import ArticleModel
import Foundation
import GRDB
import Synchronization

/// The SQLite file under both store roles (`SQLiteCanonicalStore`, `ReplicaStore`): the pool, the
/// schema, the store's identity and what both roles read the same way. A file is created for one
/// role and refuses to be opened as the other.
///
/// All writes go through GRDB's single writer connection, so revisions are assigned in order
/// without further locking; reads run concurrently on WAL snapshots.
final class StoreFile: Sendable {
    enum Role: Sendable, Hashable {
        case canonical
        case replica(fullTextIndex: Bool)

        /// The name recorded in `store_meta.role`.
        var name: String { self == .canonical ? "canonical" : "replica" }
    }

    let path: String
    /// The store's own random id, stable for its life.
    let storeID: StoreID
    let pool: DatabasePool
    /// Dictionaries by Adler-32 id: they never change, so they are cached once read.
    let dictionaries = Mutex<[UInt32: [UInt8]]>([:])
    /// `article_body`, registered on every connection of the file (and on a side connection that
    /// reads it: `ReplicaStore.rebuildFullTextIndex`).
    let documentText: StoredDocumentText

    /// Opens (creating when missing) the store at `path`. WAL mode; migrations run on open.
    init(path: String, role: Role) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let isCanonical = role == .canonical
        let pageSize = Self.pageSize(for: role)
        let documents = StoredDocumentText(path: path)
        documentText = documents
        configuration.prepareDatabase { db in
            // The canonical store answers a push only once it is durable (§5.7): FULL syncs the WAL
            // at every commit. A replica can lose its last batch to a power cut and pull it again.
            try db.execute(sql: "PRAGMA synchronous = \(isCanonical ? "FULL" : "NORMAL")")
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
            // Merging a reading replica's index frees pages, which `buildFullTextIndex` hands back
            // to the file system (set before the first table; an existing file keeps its mode).
            if role == .replica(fullTextIndex: true) && !db.configuration.readonly {
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            }
            // A reading replica's index names this tokenizer; elsewhere it is unused.
            db.add(tokenizer: GermanFoldingTokenizer.self)
            // What a reading replica's index reads its text through (`article_text`).
            db.add(function: documents.function)
        }
        try Self.createPrivately(path)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError("cannot open the store at \(path): \(Self.describe(error))")
        }
        let fullText: Bool
        if case .replica(let enabled) = role { fullText = enabled } else { fullText = false }
        do {
            try Self.migrator().migrate(pool)
            storeID = try pool.write { db -> StoreID in
                if let row = try Row.fetchOne(db, sql: "SELECT role, store_id FROM store_meta") {
                    let existingRole: String = row["role"]
                    guard existingRole == role.name else {
                        throw StoreError("\(path) is a \(existingRole) store and cannot be opened as a \(role.name) store")
                    }
                    try Self.configureFullTextIndex(db, enabled: fullText)
                    try Self.configureCategoryIndex(db, enabled: fullText)
                    let recorded: Data = row["store_id"]
                    guard let id = StoreID(bytes: recorded) else {
                        throw StoreError("\(path) records a store id of \(recorded.count) bytes, not 16: the file is damaged")
                    }
                    return id
                }
                let id = StoreID.random()
                try db.execute(
                    sql: "INSERT INTO store_meta (singleton, role, store_id, digest) VALUES (1, ?, ?, ?)",
                    arguments: [role.name, Data(id.bytes), Data(StoreDigest.zero.bytes)])
                try Self.configureFullTextIndex(db, enabled: fullText)
                try Self.configureCategoryIndex(db, enabled: fullText)
                return id
            }
            documents.attach(self)
        } catch let error as StoreError {
            try? pool.close()
            throw error
        } catch {
            try? pool.close()
            throw StoreError("cannot open the store at \(path): \(Self.describe(error))")
        }
    }

    /// Page size of a new file (an existing file keeps its own).
    ///
    /// The canonical store and a reading replica are read and written in bulk: rows of 1-3 KB pack
    /// about 20% tighter into 16 KiB pages than into 4 KiB ones, and a full pull writes and reads
    /// less. A mirror is mostly updated in place, a page per edited article, so the page is what an
    /// incremental pull writes twice (WAL, then checkpoint): 4 KiB pages write a third of the WAL.
    static func pageSize(for role: Role) -> Int {
        switch role {
        case .canonical, .replica(fullTextIndex: true): 16_384
        case .replica(fullTextIndex: false): 4_096
        }
    }

    func close() throws {
        // GRDB closes the writer before its read-only readers, so SQLite's own checkpoint at the
        // last close cannot run; without this the WAL (megabytes after an import) stays behind.
        try? pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try pool.close()
    }

    /// The meta row, read in a transaction of its own.
    func meta() async throws -> MetaState {
        try await pool.read { db in try MetaState.load(db) }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "\(error.resultCode)"
        }
        return "\(error)"
    }
}
