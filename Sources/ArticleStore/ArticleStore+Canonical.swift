import ArticleModel
import Foundation
import GRDB

extension ArticleStore {
    /// Latest changes with revision > `revision`, increasing, at most `limit` rows; tombstones optional.
    public func changes(after revision: UInt64, limit: Int, includeTombstones: Bool) async throws -> [StoredChange] {
        try requireCanonical("serving changes")
        return try await pool.read { db in
            let statement = try db.cachedStatement(
                sql: includeTombstones
                    ? """
                    SELECT id, revision, deleted, content_hash, document, document_length,
                        delta_base_revision, delta_base_hash, delta
                    FROM article WHERE revision > ? ORDER BY revision LIMIT ?
                    """
                    : """
                    SELECT id, revision, deleted, content_hash, document, document_length,
                        delta_base_revision, delta_base_hash, delta
                    FROM article WHERE revision > ? AND deleted = 0 ORDER BY revision LIMIT ?
                    """)
            return try Row.fetchAll(statement, arguments: [Int64(clamping: revision), max(0, limit)]).map { row in
                let id: String = row[0]
                let revision = UInt64(clamping: row[1] as Int64)
                if row[2] as Bool {
                    return StoredChange(revision: revision, id: id, kind: .tombstone)
                }
                var delta: StoredDelta?
                if let base = row[6] as Int64?, let baseHash = row[7] as Data?, let bytes = row[8] as Data? {
                    delta = StoredDelta(baseRevision: UInt64(base), baseHash: [UInt8](baseHash), compressed: [UInt8](bytes))
                }
                let document = StoredDocument(
                    contentHash: [UInt8](row[3] as Data), compressed: [UInt8](row[4] as Data), documentLength: row[5],
                    delta: delta)
                return StoredChange(revision: revision, id: id, kind: .article(document))
            }
        }
    }

    /// Applies a push in one durable transaction; outcomes in input order (§5.7 steps 2-5; the
    /// caller has already refused invalid ids and sources, step 1).
    public func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome]) {
        try requireCanonical("applying a push")
        for write in writes {
            if let problem = ArticleID.problem(with: write.id) { throw StoreError("cannot store article: \(problem)") }
            if case .put(let article) = write.operation, !ArticleDocument.canEncode(article) {
                throw StoreError("cannot store article '\(write.id)': its title or category exceeds 65,535 bytes")
            }
        }
        // Hash, encode and compress before taking the writer: the transaction then only writes.
        let deflater = currentDeflater.withLock { $0 }
        let prepared: [PreparedArticle?] = writes.map { write in
            guard case .put(let article) = write.operation else { return nil }
            return PreparedArticle(article: article, contentHash: StoreDigest.contentHash(of: article.source), deflater: deflater)
        }
        return try await pool.write { db in
            var state = try MetaState.load(db)
            var outcomes: [StoreWriteOutcome] = []
            outcomes.reserveCapacity(writes.count)
            for (write, prepared) in zip(writes, prepared) {
                let existing = try ExistingRow.fetch(db, id: write.id)
                let current = existing?.liveRevision ?? 0
                let expectationHolds = write.expectedRevision == StoreWrite.anyRevision || write.expectedRevision == current
                if let prepared {
                    if let existing, !existing.deleted, existing.contentHash == prepared.contentHash {
                        outcomes.append(StoreWriteOutcome(status: .unchanged, revision: current))
                    } else if !expectationHolds {
                        outcomes.append(StoreWriteOutcome(status: .conflict, revision: current))
                    } else {
                        let revision = try self.canonicalPut(db, id: write.id, prepared: prepared, existing: existing, state: &state)
                        outcomes.append(StoreWriteOutcome(status: .applied, revision: revision))
                    }
                } else {
                    guard let existing, !existing.deleted else {
                        outcomes.append(StoreWriteOutcome(status: .notFound, revision: 0))
                        continue
                    }
                    if !expectationHolds {
                        outcomes.append(StoreWriteOutcome(status: .conflict, revision: current))
                    } else {
                        let revision = try self.canonicalDelete(db, id: write.id, existing: existing, state: &state)
                        outcomes.append(StoreWriteOutcome(status: .applied, revision: revision))
                    }
                }
            }
            try state.save(db)
            return (state.head, outcomes)
        }
    }

    /// A dictionary by its id (Adler-32), or nil when the store has none with that id.
    public func dictionary(id: UInt32) async throws -> [UInt8]? {
        if let cached = dictionaries.withLock({ $0[id] }) { return cached }
        return try await pool.read { db in try self.dictionary(db, id: id) }
    }

    /// The id of the dictionary new writes are compressed with, if any.
    public func currentDictionaryID() async throws -> UInt32? {
        try await pool.read { db in try MetaState.load(db).dictionaryID }
    }

    /// Stores `bytes` (at most 32 KiB) as a dictionary and compresses every later write with it.
    /// Articles already stored keep naming their own dictionary, which is never removed (§7.3).
    @discardableResult
    public func installDictionary(_ bytes: [UInt8]) async throws -> UInt32 {
        try requireCanonical("installing a dictionary")
        guard !bytes.isEmpty, bytes.count <= ArticleCompression.maxDictionaryLength else {
            throw StoreError("a dictionary must hold 1 to \(ArticleCompression.maxDictionaryLength) bytes, not \(bytes.count)")
        }
        let id = try await pool.write { db in
            let id = try self.insertDictionary(db, bytes: bytes)
            var state = try MetaState.load(db)
            state.dictionaryID = id
            try state.save(db)
            return id
        }
        currentDeflater.withLock { $0 = PresetDeflater(dictionary: bytes) }
        return id
    }

    /// The plain document of a stored change (inflated with its dictionary), for a client that
    /// does not speak the DICTIONARY feature: the server sends it RAW or recompresses it plainly.
    public func inflateDocument(_ document: StoredDocument) async throws -> [UInt8] {
        if let id = ArticleCompression.dictionaryID(of: document.compressed),
            let bytes = dictionaries.withLock({ $0[id] })
        {
            return try Self.inflate(document, dictionary: (id, bytes))
        }
        return try await pool.read { db in
            try self.inflateStored(db, compressed: document.compressed, documentLength: document.documentLength)
        }
    }

    static func inflate(_ document: StoredDocument, dictionary: (UInt32, [UInt8])) throws -> [UInt8] {
        do {
            return try ArticleCompression.inflateDocument(document.compressed, documentLength: document.documentLength) { id in
                id == dictionary.0 ? dictionary.1 : nil
            }
        } catch {
            throw StoreError("stored document is corrupt: \(error)")
        }
    }

    /// Removes the tombstones with revision ≤ `revision` (clamped to the head) and raises the
    /// horizon to it (§7.5); the digest log below the new horizon goes too. Returns how many
    /// tombstones were removed.
    @discardableResult
    public func purgeTombstones(upTo revision: UInt64) async throws -> Int {
        try requireCanonical("purging tombstones")
        return try await pool.write { db in
            var state = try MetaState.load(db)
            let target = min(revision, state.head)
            guard target > state.horizon else { return 0 }
            try db.execute(sql: "DELETE FROM article WHERE deleted = 1 AND revision <= ?", arguments: [Int64(target)])
            let removed = db.changesCount
            try db.execute(sql: "DELETE FROM digest_log WHERE revision < ?", arguments: [Int64(target)])
            state.horizon = target
            try state.save(db)
            return removed
        }
    }
}
