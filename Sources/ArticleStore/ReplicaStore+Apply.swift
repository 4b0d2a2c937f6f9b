import ArticleModel
import Foundation
import GRDB

extension ReplicaStore {
    /// Applies one batch and advances the cursor in ONE transaction (crash-safe resume): after a
    /// crash the replica holds either the whole batch and the new cursor, or neither. Staged
    /// changes up to the new cursor (ReplicaStore+Stage) leave the stage in the same transaction.
    ///
    /// A batch may also be a part of a server's BATCH (the sync engine commits a large one in
    /// slices): the cursor is then the revision of the slice's last change, which is as resumable
    /// as a batch's end, since changes come in increasing revision order.
    /// Returns the arrivals it recorded (`ApplyOptions.arrivedAt`).
    @discardableResult
    public func applyBatch(
        _ changes: [ReplicaChange], upstreamStoreID: StoreID, cursor: UInt64, options: ApplyOptions = ApplyOptions()
    ) async throws -> [Arrival] {
        try Self.checkBatch(changes, cursor: cursor, options: options)
        return try await file.pool.write { db in
            try self.writeBatch(db, changes, upstreamStoreID: upstreamStoreID, cursor: cursor, options: options)
        }
    }

    /// `applyBatch` without a wait: the batch goes straight onto the writer's queue, behind the
    /// batches handed over before it, and this returns at once. A bulk pull hands over batch after
    /// batch while it decodes the next ones, so the writer (its critical path) runs them back to back
    /// instead of waiting for a task to be scheduled between two commits. Once a batch of `chain`
    /// fails, every later one of it fails without writing: nothing commits past a hole.
    /// `whenCommitted` runs on the writer's queue right after the commit, before the next batch
    /// and before `PendingCommit.value()` returns: in commit order.
    public func enqueueBatch(
        _ changes: [ReplicaChange], upstreamStoreID: StoreID, cursor: UInt64, options: ApplyOptions = ApplyOptions(),
        in chain: CommitChain, whenCommitted: @escaping @Sendable ([Arrival]) -> Void = { _ in }
    ) -> PendingCommit {
        let pending = PendingCommit()
        do {
            try Self.checkBatch(changes, cursor: cursor, options: options)
        } catch {
            chain.fail()
            pending.complete(.failure(error))
            return pending
        }
        file.pool.asyncWrite { db in
            guard !chain.hasFailed else { throw CommitChain.EarlierBatchFailed() }
            return try self.writeBatch(db, changes, upstreamStoreID: upstreamStoreID, cursor: cursor, options: options)
        } completion: { _, result in
            switch result {
            case .success(let arrivals): whenCommitted(arrivals)
            case .failure: chain.fail()
            }
            pending.complete(result)
        }
        return pending
    }

    private static func checkBatch(_ changes: [ReplicaChange], cursor: UInt64, options: ApplyOptions) throws {
        // SQLite integers are signed 64-bit; no real store comes near, a hostile one could.
        let limit = UInt64(Int64.max)
        guard cursor <= limit else { throw StoreError("cursor \(cursor) is beyond what a store can record") }
        for change in changes {
            let id = change.id
            switch change {
            case .put(_, let revision, let article, let hash, _):
                try Self.check(id: id, revision: revision, hash: hash)
                guard !article.source.isEmpty else { throw StoreError("article '\(id)' has an empty source") }
            case .putDocument(_, let revision, _, let hash, let document):
                try Self.check(id: id, revision: revision, hash: hash)
                guard !document.bytes.isEmpty else { throw StoreError("article '\(id)' has an empty document") }
            case .delete:
                if let problem = ArticleID.problem(with: id) { throw StoreError("cannot store article: \(problem)") }
            }
        }
        for (id, bytes) in options.dictionaries { try Self.checkDictionary(id: id, bytes: bytes) }
    }

    private func writeBatch(
        _ db: Database, _ changes: [ReplicaChange], upstreamStoreID: StoreID, cursor: UInt64, options: ApplyOptions
    ) throws -> [Arrival] {
        var state = try MetaState.load(db)
        state.upstreamStoreID = upstreamStoreID
        for (_, bytes) in options.dictionaries.sorted(by: { $0.key < $1.key }) {
            _ = try self.file.insertDictionary(db, bytes: bytes)
        }
        var index = try self.fullTextIndexWrites(db)
        var arrivals: [Arrival] = []
        // The paths come in the order of the articles they belong to: each is written with its
        // row; one that matches no article in order is recorded after the batch.
        var paths = options.sourcePaths[...]
        for change in changes {
            let kind: ArrivalKind?
            var sourcePath: String? = nil
            if change.isPut, let next = paths.first, next.id.utf8.elementsEqual(change.id.utf8) {
                sourcePath = next.path
                paths = paths.dropFirst()
            }
            switch change {
            case .put(let id, let revision, let article, let hash, let compressed):
                kind = try self.replicaPut(
                    db, id: id, revision: revision, article: article, contentHash: hash, compressed: compressed,
                    state: &state, index: &index, insertFirst: options.expectsNewArticles, sourcePath: sourcePath)
            case .putDocument(let id, let revision, let heading, let hash, let document):
                kind = try self.replicaPutDocument(
                    db, id: id, revision: revision, heading: heading, contentHash: hash, document: document, state: &state,
                    index: &index, insertFirst: options.expectsNewArticles, sourcePath: sourcePath)
            case .delete(let id, _):
                kind = try self.replicaDelete(db, id: id, keepAt: options.keepDeletedAt, state: &state, index: &index) ? .deleted : nil
            }
            if let arrivedAt = options.arrivedAt, let kind {
                arrivals.append(Arrival(revision: change.revision, id: change.id, title: change.title, kind: kind, arrivedAt: arrivedAt))
            }
        }
        if !paths.isEmpty {
            let record = try db.cachedStatement(sql: "UPDATE article SET source_path = ? WHERE id = ? AND deleted = 0")
            for entry in paths { try record.execute(arguments: [entry.path, entry.id]) }
        }
        try index?.write(db)
        state.cursor = cursor
        try state.save(db)
        try self.dropStaged(db, through: cursor)
        try Self.recordArrivals(db, arrivals)
        return arrivals
    }

    private static func check(id: String, revision: UInt64, hash: [UInt8]) throws {
        guard revision <= UInt64(Int64.max) else { throw StoreError("revision \(revision) is beyond what a store can record") }
        guard hash.count == 32 else { throw StoreError("content hash of '\(id)' has \(hash.count) bytes, not 32") }
        if let problem = ArticleID.problem(with: id) { throw StoreError("cannot store article: \(problem)") }
    }

    static func checkDictionary(id: UInt32, bytes: [UInt8]) throws {
        guard !bytes.isEmpty, bytes.count <= ArticleCompression.maxDictionaryLength else {
            throw StoreError("a dictionary must hold 1 to \(ArticleCompression.maxDictionaryLength) bytes, not \(bytes.count)")
        }
        let actual = ArticleCompression.id(ofDictionary: bytes)
        guard actual == id else {
            throw StoreError("dictionary \(String(id, radix: 16)) has the Adler-32 \(String(actual, radix: 16)): it is not that dictionary")
        }
    }

    /// Keeps a dictionary; its id must be its Adler-32 (§5.12). Only for a dictionary already known
    /// to be right: the sync engine saves a fetched one with the batch whose article matched its
    /// content hash through it (`ApplyOptions.dictionaries`).
    public func saveDictionary(id: UInt32, bytes: [UInt8]) async throws {
        try Self.checkDictionary(id: id, bytes: bytes)
        try await file.pool.write { db in _ = try self.file.insertDictionary(db, bytes: bytes) }
    }

    /// Returns whether the id was new to the replica or replaced a live article.
    @discardableResult
    func replicaPut(
        _ db: Database, id: String, revision: UInt64, article: Article, contentHash: [UInt8],
        compressed: CompressedDocument?, state: inout MetaState, index: inout FullTextIndexWrites?, insertFirst: Bool = false,
        sourcePath: String? = nil
    ) throws -> ArrivalKind {
        // Both kinds of replica keep the document as the server sent it (a reading replica's index
        // reads it through `article_text`); a change that came as a delta, or a document naming a
        // dictionary the replica lacks (it could not be read back) keeps the text in clear.
        var document: CompressedDocument? = nil
        if let compressed {
            let dictionaryID = ArticleCompression.dictionaryID(of: compressed.bytes)
            if try dictionaryID.map({ try self.file.dictionary(db, id: $0) != nil }) ?? true { document = compressed }
        }
        // In clear, the source is kept only when it is not the canonical rendering (as the document
        // does); a compressed document carries it already.
        let body: String? = document == nil ? article.body : nil
        let source: Data? = document != nil || SeedFormat.render(article) == article.source ? nil : Data(article.source)
        return try writeRow(
            db, id: id, revision: revision, heading: ArticleHeading(article), body: body, source: source, contentHash: contentHash,
            document: document, state: &state, indexText: article.body, index: &index, insertFirst: insertFirst, sourcePath: sourcePath)
    }

    @discardableResult
    func replicaPutDocument(
        _ db: Database, id: String, revision: UInt64, heading: ArticleHeading, contentHash: [UInt8],
        document: CompressedDocument, state: inout MetaState, index: inout FullTextIndexWrites?, insertFirst: Bool = false,
        sourcePath: String? = nil
    ) throws -> ArrivalKind {
        if let dictionaryID = ArticleCompression.dictionaryID(of: document.bytes), try file.dictionary(db, id: dictionaryID) == nil {
            throw StoreError("the document of '\(id)' names dictionary \(String(dictionaryID, radix: 16)), which the replica does not hold")
        }
        return try writeRow(
            db, id: id, revision: revision, heading: heading, body: nil, source: nil, contentHash: contentHash, document: document, state: &state,
            index: &index, insertFirst: insertFirst, sourcePath: sourcePath)
    }

    /// Inserts or replaces the row of `id` (reviving a kept one) and keeps the digest and count.
    /// With `index` (a reading replica), its full-text entry goes with it, from `indexText` when the
    /// caller has the text, else read back. Returns `.changed` when it replaced a live article,
    /// else `.new`.
    private func writeRow(
        _ db: Database, id: String, revision: UInt64, heading: ArticleHeading, body: String?, source: Data?, contentHash: [UInt8],
        document: CompressedDocument?, state: inout MetaState, indexText: String? = nil, index: inout FullTextIndexWrites?,
        insertFirst: Bool = false, sourcePath: String? = nil
    ) throws -> ArrivalKind {
        // In a bootstrap a new id at a new revision (every row) is one INSERT; only one that meets an
        // existing id or revision (it does nothing then) takes the way below, as every row of an
        // incremental pull does (most are edits: a failed INSERT first would cost each a lookup).
        if insertFirst {
            let row = NewRowInsert.Row(
                id: id, revision: Int64(clamping: revision), published: heading.published.sortKey, category: heading.category,
                title: heading.title, body: body, source: source, contentHash: contentHash, document: document?.bytes,
                documentLength: document?.documentLength, sourcePath: sourcePath)
            if try NewRowInsert.insert(db, row) {
                state.liveCount += 1
                state.digest.add(StoreDigest.element(id: id, contentHash: contentHash))
                index?.add(rowid: db.lastInsertedRowID, title: heading.title, body: indexText)
                return .new
            }
        }
        // Text as its exact bytes (ExactText): a NUL in a body must survive.
        let arguments: StatementArguments = [
            Int64(clamping: revision), heading.published.sortKey, ExactText.argument(heading.category), ExactText.argument(heading.title),
            ExactText.argument(body), source, Data(contentHash), document.map { Data($0.bytes) }, document?.documentLength, sourcePath,
        ]
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
        if let existing, !existing.deleted { try index?.remove(db, rowid: existing.rowid) }
        if let existing {
            try db.cachedStatement(
                sql: """
                    UPDATE article SET revision = ?, deleted = 0, deleted_at = NULL, published = ?, category = CAST(? AS TEXT),
                        title = CAST(? AS TEXT), body = CAST(? AS TEXT), source = ?, content_hash = ?, document = ?, document_length = ?,
                        source_path = coalesce(?, source_path)
                    WHERE rowid = ?
                    """
            ).execute(arguments: arguments + [existing.rowid])
        } else {
            try db.cachedStatement(sql: Self.insertRowSQL).execute(arguments: [id] + arguments)
        }
        index?.add(rowid: existing?.rowid ?? db.lastInsertedRowID, title: heading.title, body: indexText)
        return existing.map { $0.deleted ? .new : .changed } ?? .new
    }

    /// The new row of `writeRow`: the id, then its other arguments.
    static let insertRowSQL = """
        INSERT INTO article (
            id, revision, deleted, published, category, title, body, source, content_hash, document, document_length, source_path)
        VALUES (?, ?, 0, ?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?, ?)
        """

    /// A replica keeps no tombstones: the row goes, and with it its search entry (`index`).
    /// With `keepAt` (`pull --keep-deleted`) the article stays, deleted as of `keepAt`, readable
    /// through ReplicaStore+Kept; it no longer counts in the digest, the count or the index. A kept
    /// article that is deleted again stays as it was kept.
    /// Returns whether a live article went.
    @discardableResult
    func replicaDelete(_ db: Database, id: String, keepAt: Int64?, state: inout MetaState, index: inout FullTextIndexWrites?) throws -> Bool {
        guard let existing = try ExistingRow.fetch(db, id: id), !existing.deleted else { return false }
        try index?.remove(db, rowid: existing.rowid)
        if let oldHash = existing.contentHash {
            state.digest.subtract(StoreDigest.element(id: id, contentHash: oldHash))
        }
        state.liveCount -= 1
        if let keepAt {
            try db.cachedStatement(sql: "UPDATE article SET deleted = 1, deleted_at = ? WHERE rowid = ?").execute(arguments: [keepAt, existing.rowid])
        } else {
            try db.cachedStatement(sql: "DELETE FROM article WHERE rowid = ?").execute(arguments: [existing.rowid])
        }
        return true
    }
}

extension ReplicaStore {
    /// The WAL length, in pages, at which the writer's commits checkpoint it themselves: SQLite's
    /// `wal_autocheckpoint`, 0 while `withCheckpointsBeside` has them taken elsewhere.
    public func writerCheckpointPages() async throws -> Int {
        try await file.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? 0 }
    }

    /// Runs `body`, a write of many batches (a bootstrap, a long catch-up), with the WAL's
    /// checkpoints taken off the writer (`BesideCheckpointer`); when the side connection cannot be
    /// had, `body` runs as it would without. The thresholds (in WAL frames, pages) are for tests.
    public func withCheckpointsBeside<T>(
        passiveFrames: Int32 = BesideCheckpointer.passiveFrames, restartFrames: Int32 = BesideCheckpointer.restartFrames,
        _ body: () async throws -> T
    ) async throws -> T {
        guard
            let checkpointer = await BesideCheckpointer.start(
                on: file.pool, path: file.path, passiveFrames: passiveFrames, restartFrames: restartFrames)
        else { return try await body() }
        do {
            let result = try await body()
            await checkpointer.stop(on: file.pool)
            return result
        } catch {
            await checkpointer.stop(on: file.pool)
            throw error
        }
    }
}
