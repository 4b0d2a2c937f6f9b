import ArticleModel
import Foundation
import GRDB

extension ReplicaStore {
    /// Applies one batch and advances the cursor in ONE transaction (crash-safe resume): after a
    /// crash the replica holds either the whole batch and the new cursor, or neither.
    public func applyBatch(_ changes: [ReplicaChange], upstreamStoreID: [UInt8], cursor: UInt64) async throws {
        guard upstreamStoreID.count == 16 else { throw StoreError("an upstream store id has 16 bytes, not \(upstreamStoreID.count)") }
        // SQLite integers are signed 64-bit; no real store comes near, a hostile one could.
        let limit = UInt64(Int64.max)
        guard cursor <= limit else { throw StoreError("cursor \(cursor) is beyond what a store can record") }
        for change in changes {
            let id: String
            switch change {
            case .put(let changeID, let revision, let article, let hash, _):
                id = changeID
                guard revision <= limit else { throw StoreError("revision \(revision) is beyond what a store can record") }
                guard hash.count == 32 else { throw StoreError("content hash of '\(changeID)' has \(hash.count) bytes, not 32") }
                guard !article.source.isEmpty else { throw StoreError("article '\(changeID)' has an empty source") }
            case .delete(let changeID, _):
                id = changeID
            }
            if let problem = ArticleID.problem(with: id) { throw StoreError("cannot store article: \(problem)") }
        }
        try await file.pool.write { db in
            var state = try MetaState.load(db)
            state.upstreamStoreID = upstreamStoreID
            for change in changes {
                switch change {
                case .put(let id, let revision, let article, let hash, let compressed):
                    try self.replicaPut(
                        db, id: id, revision: revision, article: article, contentHash: hash, compressed: compressed,
                        state: &state)
                case .delete(let id, _):
                    try self.replicaDelete(db, id: id, state: &state)
                }
            }
            state.cursor = cursor
            try state.save(db)
        }
    }

    /// Keeps a dictionary fetched from the server; its id must be its Adler-32 (§5.12).
    public func saveDictionary(id: UInt32, bytes: [UInt8]) async throws {
        guard !bytes.isEmpty, bytes.count <= ArticleCompression.maxDictionaryLength else {
            throw StoreError("a dictionary must hold 1 to \(ArticleCompression.maxDictionaryLength) bytes, not \(bytes.count)")
        }
        let actual = ArticleCompression.id(ofDictionary: bytes)
        guard actual == id else {
            throw StoreError("dictionary \(String(id, radix: 16)) has the Adler-32 \(String(actual, radix: 16)): it is not that dictionary")
        }
        try await file.pool.write { db in _ = try self.file.insertDictionary(db, bytes: bytes) }
    }

    /// Removes every live article whose id is not in `keep` (the end of a re-bootstrap, §5.6),
    /// in one transaction; the cursor is unchanged. Returns how many were removed.
    @discardableResult
    public func removeArticles(notIn keep: Set<String>) async throws -> Int {
        return try await file.pool.write { db in
            var state = try MetaState.load(db)
            var removed = 0
            for id in try String.fetchAll(db, sql: "SELECT id FROM article") where !keep.contains(id) {
                try self.replicaDelete(db, id: id, state: &state)
                removed += 1
            }
            try state.save(db)
            return removed
        }
    }

    func replicaPut(
        _ db: Database, id: String, revision: UInt64, article: Article, contentHash: [UInt8],
        compressed: CompressedDocument?, state: inout MetaState
    ) throws {
        // Upstream revisions are unique within one upstream, but a replica that re-bootstraps (new
        // store, or a server restored from an older copy) still holds rows with the old numbers
        // until the bootstrap ends: such a row gives up the number and takes a unique negative one.
        try db.cachedStatement(
            sql: """
                UPDATE article SET revision = (SELECT min(0, MIN(revision)) FROM article) - 1
                WHERE revision = ? AND id <> ?
                """
        ).execute(arguments: [Int64(clamping: revision), id])
        let existing = try ExistingRow.fetch(db, id: id)
        if let existing, !existing.deleted, let oldHash = existing.contentHash {
            state.digest.subtract(StoreDigest.element(id: id, contentHash: oldHash))
        } else {
            state.liveCount += 1
        }
        state.digest.add(StoreDigest.element(id: id, contentHash: contentHash))
        // A mirror keeps the document as the server sent it (no search index needs the text); a
        // reading replica, a change that came as a delta, or a document naming a dictionary the
        // replica lacks (it could not be read back) keeps the text in clear.
        var document: CompressedDocument? = nil
        if let compressed, !fullTextIndex {
            let dictionaryID = ArticleCompression.dictionaryID(of: compressed.bytes)
            if try dictionaryID.map({ try self.file.dictionary(db, id: $0) != nil }) ?? true { document = compressed }
        }
        // In clear, the source is kept only when it is not the canonical rendering (as the document
        // does); a compressed document carries it already.
        let body: String? = document == nil ? article.body : nil
        let source: Data? = document != nil || SeedFormat.render(article) == article.source ? nil : Data(article.source)
        let arguments: StatementArguments = [
            Int64(clamping: revision), article.published.sortKey, article.category, article.title, body, source,
            Data(contentHash), document.map { Data($0.bytes) }, document?.documentLength,
        ]
        if let existing {
            try db.cachedStatement(
                sql: """
                    UPDATE article SET revision = ?, deleted = 0, published = ?, category = ?, title = ?, body = ?,
                        source = ?, content_hash = ?, document = ?, document_length = ?
                    WHERE rowid = ?
                    """
            ).execute(arguments: arguments + [existing.rowid])
        } else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO article (
                        id, revision, deleted, published, category, title, body, source, content_hash, document, document_length)
                    VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [id] + arguments)
        }
    }

    /// A replica keeps no tombstones: the row goes (and with it, by trigger, its search entry).
    func replicaDelete(_ db: Database, id: String, state: inout MetaState) throws {
        guard let existing = try ExistingRow.fetch(db, id: id) else { return }
        if !existing.deleted, let oldHash = existing.contentHash {
            state.digest.subtract(StoreDigest.element(id: id, contentHash: oldHash))
            state.liveCount -= 1
        }
        try db.cachedStatement(sql: "DELETE FROM article WHERE rowid = ?").execute(arguments: [existing.rowid])
    }
}
