import ArticleModel
import Foundation
import GRDB

/// A live article as a plain-file tree plans it: where it goes and whether its file is current,
/// without reading its text.
public struct FileTreeRow: Sendable {
    public var id: String
    public var revision: UInt64
    public var published: PublicationTime
    public var title: String
    public var contentHash: [UInt8]
    /// The article's path as imported on the server, relative to the imported folder (when the
    /// server sent it).
    public var sourcePath: String?
}

/// What a file tree reads of the replica in one transaction: the state it will record, the rows it
/// plans from, and (through `write`) the articles it writes.
public struct FileTreeSnapshot: Sendable {
    public var cursor: UInt64
    /// The store the replica follows (16 bytes); nil for a replica that never pulled.
    public var upstream: [UInt8]?
    public var liveCount: Int
    /// The live rows changed after the revision asked for (every live row for a full pass).
    public var rows: [FileTreeRow]
}

extension ReplicaStore {
    /// Reads, in one read transaction (so what is planned and what is written are one state of the
    /// replica): the rows changed after `revision` (all rows for nil), handed to `plan`, which
    /// returns the ids to write (or nil to stop: a dry run); then those articles, read back and
    /// checked against their content hash, a chunk at a time, to `write`. `liveIDs` (called by
    /// `plan` when it needs them) lists every live id in byte order.
    public func readFileTree(
        after revision: UInt64?,
        plan: (FileTreeSnapshot, _ liveIDs: () throws -> [String]) throws -> Set<[UInt8]>?,
        write: ([ScannedArticle]) throws -> Void
    ) async throws {
        try await withoutActuallyEscaping(plan) { plan in
            try await withoutActuallyEscaping(write) { write in
                // Called only on the read's thread while the caller awaits the read.
                nonisolated(unsafe) let plan = plan
                nonisolated(unsafe) let write = write
                try await file.pool.read { db in
                    let snapshot = try Self.fileTreeSnapshot(db, after: revision)
                    guard let wanted = try plan(snapshot, { try Self.liveIDs(db) }) else { return }
                    if wanted.isEmpty { return }
                    try self.file.scan(
                        db, kept: false, materialize: true, afterRevision: revision, include: { wanted.contains(Array($0.utf8)) },
                        write)
                }
            }
        }
    }

    private static func fileTreeSnapshot(_ db: Database, after revision: UInt64?) throws -> FileTreeSnapshot {
        guard let meta = try Row.fetchOne(db, sql: "SELECT cursor, upstream_store_id, live_count FROM store_meta") else {
            throw StoreError("the replica has no meta row: the file is damaged")
        }
        let hasSourcePath = try db.columns(in: "article").contains { $0.name == "source_path" }
        // A full pass reads every live row (rows a re-bootstrap renumbered below zero too).
        let statement = try db.makeStatement(
            sql: """
                SELECT id, revision, published, CAST(title AS BLOB), content_hash\(hasSourcePath ? ", source_path" : "")
                FROM article WHERE deleted = 0\(revision == nil ? "" : " AND revision > ? ORDER BY revision")
                """)
        var rows: [FileTreeRow] = []
        let cursor = try Row.fetchCursor(statement, arguments: revision.map { [Int64(clamping: $0)] } ?? [])
        while let row = try cursor.next() {
            let published: Int64 = row[2] ?? 0
            rows.append(FileTreeRow(
                id: row[0], revision: UInt64(clamping: max(0, row[1] as Int64)), published: PublicationTime(sortKey: published),
                title: String(decoding: row.dataNoCopy(atIndex: 3) ?? Data(), as: UTF8.self),
                contentHash: row.dataNoCopy(atIndex: 4).map { [UInt8]($0) } ?? [],
                sourcePath: hasSourcePath ? row[5] : nil))
        }
        return FileTreeSnapshot(
            cursor: UInt64(clamping: meta[0] as Int64), upstream: (meta[1] as Data?).map { [UInt8]($0) },
            liveCount: Int(meta[2] as Int64), rows: rows)
    }

    /// Every live id in byte order. The id index alone answers it (no article is read) unless kept
    /// articles (`--keep-deleted`) share the index; then they are left out.
    static func liveIDs(_ db: Database) throws -> [String] {
        let all = try String.fetchAll(db, sql: "SELECT id FROM article ORDER BY id")
        let live = try Int.fetchOne(db, sql: "SELECT live_count FROM store_meta") ?? 0
        guard all.count != live else { return all }
        let kept = Set(try String.fetchAll(db, sql: "SELECT id FROM article WHERE deleted <> 0").map { ArticleKey($0) })
        return all.filter { !kept.contains(ArticleKey($0)) }
    }
}
