import ArticleModel
import Foundation
import GRDB
import Synchronization

/// A reading replica keeps each document compressed as the server sent it, as a mirror does, and
/// its FTS5 index reads the text through the view `article_text`, which inflates a document on
/// demand (`article_body`, `StoredDocumentText`): only snippet() of the hits shown and the removal
/// of an article's old entry read it back. Rows that hold their text in clear (a change that came
/// as a delta, a replica from before, a document whose dictionary the replica lacked) are read as
/// they are.
///
/// Whatever changes an article changes its index entry in the same transaction, written at the
/// transaction's end (`FullTextIndexWrites`); no trigger does it. The index has three states
/// (`store_meta`): kept so (the usual one); fed (`fts_fed`: the same, with FTS5's merging off
/// while a bootstrap adds every row, so only the final merge is left); or stale (`fts_pending`: a
/// bootstrap that has not built it yet, an index made with another tokenizer or view, or a mirror
/// that became a reading replica), rebuilt in bulk before it is read (ReplicaStore+IndexBuild),
/// and left alone by the writes until then.
extension ReplicaStore {
    /// Whether the reading replica's full-text index has to be finished (`buildFullTextIndex`)
    /// before it is at its best: stale (a full rebuild, which `search` does first), or fed by a
    /// bootstrap that has not been finished (merged, merging restored). Always false on a mirror.
    public func isFullTextIndexPending() async throws -> Bool {
        guard fullTextIndex else { return false }
        return try await file.pool.read { db in
            try StoreFile.isFullTextIndexPending(db) || StoreFile.isFullTextIndexFed(db)
        }
    }

    /// The index fed by the apply, from the text each change was decoded to; FTS5 does not merge
    /// segments until `buildFullTextIndex` merges them once. Each batch's rows and their index
    /// entries commit together, so a replica killed at any point is searchable as far as it got.
    /// Bootstraps use `deferFullTextIndexToBulkBuild` instead, which costs no more and keeps the
    /// download at a mirror's speed; a replica left fed by an earlier release is finished the same
    /// way.
    public func deferFullTextIndex() async throws {
        guard fullTextIndex else { return }
        try await file.pool.write { db in
            guard try !StoreFile.isFullTextIndexPending(db), try !StoreFile.isFullTextIndexFed(db) else { return }
            try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('automerge', 0)")
            try StoreFile.setFullTextIndexFed(db, true)
        }
    }

    /// For a bootstrap: no index while the articles arrive (the apply leaves it alone, so batches
    /// commit at mirror speed); once caught up, `buildFullTextIndex` builds it in bulk. A replica
    /// killed before that is pending, and the next pull, search or read builds it.
    public func deferFullTextIndexToBulkBuild() async throws {
        guard fullTextIndex else { return }
        try await file.pool.write { db in
            guard try !StoreFile.isFullTextIndexPending(db), try !StoreFile.isFullTextIndexFed(db) else { return }
            try StoreFile.setFullTextIndexPending(db, true)
        }
    }

    /// Finishes the full-text index: a stale one is rebuilt from every live article (half of them
    /// on a second connection when there are two cores), a fed one is merged; then FTS5's merging
    /// is restored for the writes of later pulls. Killed half-way, the replica is still pending and
    /// the next pull, search or read finishes it.
    /// `progress(done, total)` follows the articles of a rebuild.
    public func buildFullTextIndex(progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }) async throws {
        guard fullTextIndex else { return }
        let pending = try await isFullTextIndexPending()
        // What a download freed (its batches, decoded slices) goes back to the system before the
        // build's hashes are allocated: otherwise they come on top of it, and the build is a
        // reading pull's peak.
        if pending { Allocator.releaseFreeMemory() }
        // Half the rows on a second core when there is one; what it leaves undone (too few rows,
        // the scratch file taken, the move refused) is rebuilt on the writer below.
        if Self.buildsOnTwoConnections, pending {
            try await rebuildOnTwoConnections(progress: progress)
        }
        try await file.pool.write { db in
            let stale = try StoreFile.isFullTextIndexPending(db)
            let fed = try StoreFile.isFullTextIndexFed(db)
            guard stale || fed else { return }
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM article WHERE deleted = 0") ?? 0
            if stale {
                try Self.rebuildFullTextIndex(db, total: total, progress: progress)
            } else {
                // Fed by the apply (or rebuilt by `rebuildOnTwoConnections`): every article is in
                // already, only the merge is left.
                progress(total, total)
            }
            // The bulk build leaves hundreds of small segments, which the row-by-row updates of later
            // pulls would merge bit by bit: the first incremental pulls after it took 1.8 s instead of
            // 0.7 s (1,600 changes at 100,000 articles). One merge now, once; the two segments of a
            // build on two connections are merged already.
            let segments = try FullTextIndexMerge.structure(db, schema: "main")?.segmentCount ?? Int.max
            if stale || segments > 2 { try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('optimize')") }
            try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('automerge', \(Self.ftsAutomerge))")
            try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('hashsize', \(Self.ftsHashSize))")
            try StoreFile.setFullTextIndexPending(db, false)
            try StoreFile.setFullTextIndexFed(db, false)
        }
        // The merge left the segments it replaced as free pages; a replica created with
        // incremental auto-vacuum gives them back (elsewhere this does nothing).
        try await file.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA incremental_vacuum") }
    }

    static let buildsOnTwoConnections = ProcessInfo.processInfo.activeProcessorCount > 1

    /// FTS5's default: merge once 4 segments of a level exist, as later pulls' batches add them.
    static let ftsAutomerge = 4

    /// The index writes of one transaction; nil when there is no index to keep (a mirror) or it
    /// is stale and will be rebuilt from every row anyway. Read once per transaction.
    func fullTextIndexWrites(_ db: Database) throws -> FullTextIndexWrites? {
        guard fullTextIndex, try !StoreFile.isFullTextIndexPending(db) else { return nil }
        return FullTextIndexWrites()
    }
}

extension StoreFile {
    /// The text of a row as the index reads it: in clear, or its document's body, inflated.
    /// `prefix` names the row (`a.` in a join; empty in the view).
    static func indexedBody(_ prefix: String) -> String {
        "CASE WHEN \(prefix)document IS NULL THEN \(prefix)body ELSE CAST(article_body(\(prefix)document, \(prefix)document_length) AS TEXT) END"
    }

    /// What `article_fts` is created with; an index made otherwise (an earlier tokenizer, or the
    /// text read from `article` itself) is rebuilt on open.
    static var fullTextIndexDefinition: String {
        """
        CREATE VIRTUAL TABLE article_fts USING fts5(
            title, body, content='article_text', content_rowid='rowid',
            tokenize='\(ftsTokenizer)'
        )
        """
    }

    static func createArticleTextView(_ db: Database) throws {
        try db.execute(sql: "CREATE VIEW IF NOT EXISTS article_text AS SELECT rowid, title, \(indexedBody("")) AS body FROM article")
    }

    /// A replica indexed with an earlier tokenizer (before German folding: `unicode61
    /// remove_diacritics 2`, where "Strasse" missed "Straße"), or by a release that kept every
    /// text in clear and indexed it from `article`, gets a new, empty index marked pending, which
    /// the next pull, search or read builds in bulk (the text it already holds in clear stays so;
    /// what later pulls bring is kept compressed). Rebuilt rather than kept: an index answers only
    /// in its own tokenizer's terms, and FTS5 names its content table when it is created.
    static func upgradeFullTextIndex(_ db: Database) throws {
        let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'article_fts'") ?? ""
        guard !sql.contains("tokenize='\(ftsTokenizer)'") || !sql.contains("content='article_text'") else { return }
        try configureFullTextIndex(db, enabled: false)
        try configureFullTextIndex(db, enabled: true)
    }

    static func isFullTextIndexFed(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT fts_fed FROM store_meta") ?? false
    }

    static func setFullTextIndexFed(_ db: Database, _ fed: Bool) throws {
        try db.execute(sql: "UPDATE store_meta SET fts_fed = ?", arguments: [fed])
    }

    /// `fts_fed`: 1 while a bootstrap feeds the index from the apply (ReplicaStore+FullTextIndex).
    static func registerFullTextFedMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-fts-fed") { db in
            try db.execute(sql: "ALTER TABLE store_meta ADD COLUMN fts_fed INTEGER NOT NULL DEFAULT 0")
        }
    }
}

/// The SQL function `article_body(document, document_length)`: the body of a stored document,
/// inflated with the replica's dictionary, as a BLOB of its exact UTF-8 (a NUL survives). Every
/// connection of a store has it (`StoreFile` registers it), so the view works on any of them.
final class StoredDocumentText: Sendable {
    private struct Owner: Sendable {
        weak var file: StoreFile?
    }

    private let path: String
    /// Weak: the file owns the pool, whose connections own this function.
    private let owner = Mutex(Owner())

    init(path: String) {
        self.path = path
    }

    /// Called once the file is open: its dictionary cache serves the common case.
    func attach(_ file: StoreFile) {
        owner.withLock { $0.file = file }
    }

    var function: DatabaseFunction {
        DatabaseFunction("article_body", argumentCount: 2, pure: true) { [self] values in
            guard case .blob(let document) = values[0].storage, case .int64(let length) = values[1].storage else { return nil }
            guard length >= 0, length <= Int64(ArticleCompression.maxDocumentLength) else {
                throw StoreError("a stored document claims \(length) bytes, more than any article has")
            }
            let raw: [UInt8]
            do {
                raw = try document.withUnsafeBytes { bytes in
                    try ArticleCompression.inflateDocument(bytes, documentLength: Int(length)) { try? self.dictionary(id: $0) }
                }
            } catch {
                throw StoreError("a stored document cannot be read: \(error)")
            }
            // The body's bytes as they are: the document was checked against its content hash when
            // it arrived, and the index reads them without building the article (or its source).
            return Data(try ArticleDocument.decodeHeading(raw).body)
        }
    }

    /// The dictionary `id`, from the open file's cache, else read from the file on a connection
    /// of its own (another process may have saved it since this one read the table).
    private func dictionary(id: UInt32) throws -> [UInt8]? {
        if let cached = owner.withLock({ $0.file?.dictionaries.withLock { $0[id] } }) { return cached }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        guard let data = try queue.read({ try Data.fetchOne($0, sql: "SELECT bytes FROM dictionary WHERE id = ?", arguments: [Int64(id)]) })
        else { return nil }
        let bytes = [UInt8](data)
        owner.withLock { $0.file?.dictionaries.withLock { $0[id] = bytes } }
        return bytes
    }
}

extension ReplicaStore {
    /// FTS5's own check of the index against the text it was made from (read through
    /// `article_text`): nil when every entry matches, else what FTS5 reports. Reads every article.
    public func fullTextIndexProblems() async throws -> String? {
        guard fullTextIndex else { return nil }
        return try await file.pool.write { db in
            do {
                try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('integrity-check', 1)")
                return nil
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT {
                return "the search index does not match the articles: \(error.message ?? "\(error.extendedResultCode)")"
            }
        }
    }
}
