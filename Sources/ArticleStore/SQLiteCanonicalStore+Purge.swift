import GRDB

extension SQLiteCanonicalStore {
    /// Removes the tombstones with revision ≤ `revision` (clamped to the head) and raises the
    /// horizon to it (§7.5); the digest log below the new horizon goes too. Returns how many
    /// tombstones were removed. Pulls that still owe a removed tombstone see the new horizon in
    /// their next read (`changes`) and end in SNAPSHOT_REQUIRED.
    @discardableResult
    public func purgeTombstones(upTo revision: UInt64) async throws -> Int {
        try await file.pool.write { db in
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
