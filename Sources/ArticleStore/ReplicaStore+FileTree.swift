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

/// What a file tree reads of the replica before its rows: the state it will record.
public struct FileTreeSnapshot: Sendable {
    public var cursor: UInt64
    /// The store the replica follows (16 bytes); nil for a replica that never pulled.
    public var upstream: [UInt8]?
    public var liveCount: Int
    /// The live rows a pass goes through: those changed after the revision asked for (every live
    /// row for a full pass).
    public var rowCount: Int
}

extension ReplicaStore {
    /// Reads, in one read transaction (so what is planned and what is written are one state of the
    /// replica): the state, handed to `begin` (false stops the pass); then the live rows changed
    /// after `revision` (all of them for nil), a page of at most `pageRows` at a time, each page
    /// handed to `plan`, which returns the ids among them to write, and those articles, read back
    /// and checked against their content hash, to `write`, before the next page is read; last,
    /// `finish`, with every live id in byte order one after the other from `nextLiveID` (nil at
    /// the end). What the pass holds is a page, whatever the replica's size.
    public func readFileTree(
        after revision: UInt64?,
        pageRows: Int = 2_048,
        begin: (FileTreeSnapshot) throws -> Bool,
        plan: ([FileTreeRow]) throws -> Set<[UInt8]>,
        write: ([ScannedArticle]) throws -> Void,
        finish: (_ nextLiveID: () throws -> String?) throws -> Void
    ) async throws {
        try await withoutActuallyEscaping(begin) { begin in
            try await withoutActuallyEscaping(plan) { plan in
                try await withoutActuallyEscaping(write) { write in
                    try await withoutActuallyEscaping(finish) { finish in
                        // Called only on the read's thread while the caller awaits the read.
                        nonisolated(unsafe) let begin = begin
                        nonisolated(unsafe) let plan = plan
                        nonisolated(unsafe) let write = write
                        nonisolated(unsafe) let finish = finish
                        try await file.pool.read { db in
                            guard try begin(try Self.fileTreeSnapshot(db, after: revision)) else { return }
                            try Self.forEachFileTreePage(db, after: revision, pageRows: max(1, pageRows)) { rows, from, through in
                                let wanted = try plan(rows)
                                if wanted.isEmpty { return }
                                try self.file.scan(
                                    db, kept: false, materialize: true, afterRevision: revision, keys: (after: from, through: through),
                                    include: { wanted.contains(Array($0.utf8)) }, write)
                            }
                            // Opened only when `finish` asks: most passes learn from counts alone that nothing was deleted.
                            var ids: DatabaseValueCursor<String>? = nil
                            try finish {
                                if ids == nil { ids = try Self.liveIDCursor(db) }
                                return try ids?.next()
                            }
                        }
                    }
                }
            }
        }
    }

    private static func fileTreeSnapshot(_ db: Database, after revision: UInt64?) throws -> FileTreeSnapshot {
        guard let meta = try Row.fetchOne(db, sql: "SELECT cursor, upstream_store_id, live_count FROM store_meta") else {
            throw StoreError("the replica has no meta row: the file is damaged")
        }
        let liveCount = Int(meta[2] as Int64)
        let rowCount =
            try revision.map {
                try Int.fetchOne(db, sql: "SELECT count(*) FROM article WHERE deleted = 0 AND revision > ?", arguments: [Int64(clamping: $0)]) ?? 0
            } ?? liveCount
        return FileTreeSnapshot(
            cursor: UInt64(clamping: meta[0] as Int64), upstream: (meta[1] as Data?).map { [UInt8]($0) }, liveCount: liveCount,
            rowCount: rowCount)
    }

    /// The pass's rows, a page at a time: a full pass in rowid order (rows a re-bootstrap
    /// renumbered below revision zero too), an incremental one in revision order through the
    /// revision index, so a few changes do not read the whole table. `body` gets each page and the
    /// key range it spans (after `from`, through `through`).
    private static func forEachFileTreePage(
        _ db: Database, after revision: UInt64?, pageRows: Int, _ body: ([FileTreeRow], _ from: Int64, _ through: Int64) throws -> Void
    ) throws {
        let hasSourcePath = try db.columns(in: "article").contains { $0.name == "source_path" }
        let key = revision == nil ? "rowid" : "revision"
        let statement = try db.makeStatement(
            sql: """
                SELECT \(key), id, revision, published, CAST(title AS BLOB), content_hash\(hasSourcePath ? ", source_path" : "")
                FROM article WHERE deleted = 0 AND \(key) > ? ORDER BY \(key) LIMIT ?
                """)
        var after = revision.map { Int64(clamping: $0) } ?? 0
        while true {
            let from = after
            var rows: [FileTreeRow] = []
            rows.reserveCapacity(pageRows)
            let cursor = try Row.fetchCursor(statement, arguments: [after, pageRows])
            while let row = try cursor.next() {
                after = row[0]
                let published: Int64 = row[3] ?? 0
                rows.append(FileTreeRow(
                    id: row[1], revision: UInt64(clamping: max(0, row[2] as Int64)), published: PublicationTime(sortKey: published),
                    title: String(decoding: row.dataNoCopy(atIndex: 4) ?? Data(), as: UTF8.self),
                    contentHash: row.dataNoCopy(atIndex: 5).map { [UInt8]($0) } ?? [],
                    sourcePath: hasSourcePath ? row[6] : nil))
            }
            if rows.isEmpty { return }
            try body(rows, from, after)
            if rows.count < pageRows { return }
        }
    }

    /// Every live id in byte order, one at a time. The id index alone answers it (no article is
    /// read) unless kept articles (`--keep-deleted`) share the index; then each row is checked.
    static func liveIDCursor(_ db: Database) throws -> DatabaseValueCursor<String> {
        let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM article") ?? 0
        let live = try Int.fetchOne(db, sql: "SELECT live_count FROM store_meta") ?? 0
        if rows == live { return try String.fetchCursor(db, sql: "SELECT id FROM article ORDER BY id") }
        return try String.fetchCursor(db, sql: "SELECT id FROM article WHERE deleted = 0 ORDER BY id")
    }
}
