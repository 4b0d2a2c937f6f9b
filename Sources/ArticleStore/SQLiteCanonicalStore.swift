import ArticleModel
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The server's canonical store in a SQLite file (`StoreFile`): assigns revisions, keeps every
/// document compressed once (with a store dictionary when one is installed), deltas against the
/// previous version, tombstones down to the horizon and a digest per revision.
public final class SQLiteCanonicalStore: CanonicalStore {
    let file: StoreFile
    /// The current dictionary, primed for compressing (nil: compress without).
    let currentDeflater = Mutex<PresetDeflater?>(nil)

    public var path: String { file.path }
    public var storeID: StoreID { file.storeID }

    /// Opens (creating when missing) the canonical store at `path`; a replica's file is refused.
    public init(path: String) throws {
        file = try StoreFile(path: path, role: .canonical)
        do {
            let current = try file.pool.read { db -> [UInt8]? in
                guard let id = try MetaState.load(db).dictionaryID else { return nil }
                return try self.file.dictionary(db, id: id)
            }
            if let current {
                currentDeflater.withLock { $0 = PresetDeflater(dictionary: current) }
            }
        } catch {
            try? file.close()
            throw StoreError("cannot open the store at \(path): \(StoreFile.describe(error))")
        }
    }

    public func close() throws {
        try file.close()
    }

    public func snapshot() async throws -> StoreSnapshot {
        try await file.meta().snapshot
    }

    public func changes(after revision: UInt64, limit: Int, tombstonesAfter: UInt64) async throws -> ChangePage {
        try await file.pool.read { db in
            let snapshot = try MetaState.load(db).snapshot
            let statement = try db.cachedStatement(
                sql: """
                    SELECT id, revision, deleted, content_hash, document, document_length,
                        delta_base_revision, delta_base_hash, delta, source_path
                    FROM article WHERE revision > ? AND (deleted = 0 OR revision > ?) ORDER BY revision LIMIT ?
                    """)
            let arguments: StatementArguments = [Int64(clamping: revision), Int64(clamping: tombstonesAfter), max(0, limit)]
            // A cursor's rows are read in place (no copied Row per article), and each blob is
            // copied once, straight from SQLite's memory into the bytes a change holds (through
            // `Data`, the copy went byte by byte).
            let handle = statement.sqliteStatement
            func bytes(_ index: Int32) -> [UInt8]? {
                guard sqlite3_column_type(handle, index) != SQLITE_NULL else { return nil }
                // The blob first, then its length (SQLite's documented order).
                let base = sqlite3_column_blob(handle, index)
                let count = Int(sqlite3_column_bytes(handle, index))
                guard let base, count > 0 else { return [] }
                return [UInt8](UnsafeRawBufferPointer(start: base, count: count))
            }
            var changes: [StoredChange] = []
            changes.reserveCapacity(min(max(0, limit), 4_096))
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            while let row = try rows.next() {
                let id: String = row[0]
                let revision = UInt64(clamping: row[1] as Int64)
                if row[2] as Bool {
                    changes.append(StoredChange(revision: revision, id: id, kind: .tombstone))
                    continue
                }
                var delta: StoredDelta?
                if let base = row[6] as Int64?, let baseHash = bytes(7), let compressed = bytes(8) {
                    delta = StoredDelta(baseRevision: UInt64(base), baseHash: baseHash, compressed: compressed)
                }
                guard let contentHash = bytes(3), let compressed = bytes(4) else {
                    throw StoreError("article '\(id)' at revision \(revision) has no content hash or document: the store is damaged")
                }
                let document = StoredDocument(
                    contentHash: contentHash, compressed: compressed, documentLength: row[5], delta: delta, sourcePath: row[9])
                changes.append(StoredChange(revision: revision, id: id, kind: .article(document)))
            }
            return ChangePage(changes: changes, snapshot: snapshot)
        }
    }

    public func liveRevisions(of ids: [String]) async throws -> [String: UInt64] {
        guard !ids.isEmpty else { return [:] }
        return try await file.pool.read { db in
            var revisions: [String: UInt64] = [:]
            for id in ids {
                revisions[id] = try ExistingRow.fetch(db, id: id)?.liveRevision ?? 0
            }
            return revisions
        }
    }

    public func liveRevisions(ofEach ids: [String]) async throws -> [UInt64] {
        guard !ids.isEmpty else { return [] }
        return try await file.pool.read { db in try ids.map { try ExistingRow.fetch(db, id: $0)?.liveRevision ?? 0 } }
    }

    /// Every revision is logged (§7.6), so any revision in [horizon, head] has its digest.
    public func digest(at revision: UInt64?) async throws -> (snapshot: StoreSnapshot, digest: DigestState?) {
        try await file.pool.read { db in
            let snapshot = try MetaState.load(db).snapshot
            let revision = revision ?? snapshot.head
            guard revision >= snapshot.horizon, revision <= snapshot.head else { return (snapshot, nil) }
            if revision == snapshot.head { return (snapshot, snapshot.digestState) }
            if revision == 0 {
                return (snapshot, DigestState(revision: 0, articleCount: 0, digest: .zero))
            }
            guard let row = try Row.fetchOne(
                db, sql: "SELECT live_count, digest FROM digest_log WHERE revision = ?", arguments: [Int64(revision)])
            else { return (snapshot, nil) }
            let logged: Data = row[1]
            guard let digest = SHA256Hash(bytes: logged) else {
                throw StoreError("the digest logged for revision \(revision) is \(logged.count) bytes, not 32: the store is damaged")
            }
            let state = DigestState(revision: revision, articleCount: UInt64(clamping: row[0] as Int64), digest: digest)
            return (snapshot, state)
        }
    }

    public func dictionary(id: UInt32) async throws -> [UInt8]? {
        try await file.dictionary(id: id)
    }
}

/// Reading articles: for the operator's tools and tests; serving uses `changes`.
extension SQLiteCanonicalStore {
    /// A live article with its exact source; nil for an unknown id or a tombstone.
    public func article(id: String) async throws -> StoredArticle? {
        try await file.article(id: id)
    }

    /// Live articles, newest first (then by id), filtered by category and publication time.
    public func list(_ filter: ListFilter) async throws -> [ArticleSummary] {
        try await file.list(filter)
    }

    /// Every live id.
    public func allIDs() async throws -> Set<String> {
        try await file.allIDs()
    }

    /// SQLite's `PRAGMA integrity_check`: "ok", or the problems it found.
    public func integrityCheck() async throws -> String {
        try await file.integrityCheck()
    }
}
