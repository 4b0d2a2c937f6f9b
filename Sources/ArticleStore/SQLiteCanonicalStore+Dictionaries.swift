import ArticleModel
import GRDB

extension SQLiteCanonicalStore {
    /// The id of the dictionary new writes are compressed with, if any.
    public func currentDictionaryID() async throws -> UInt32? {
        try await file.meta().dictionaryID
    }

    /// Stores `bytes` (at most 32 KiB) as a dictionary and compresses every later write with it.
    /// Articles already stored keep naming their own dictionary, which is never removed (§7.3).
    @discardableResult
    public func installDictionary(_ bytes: [UInt8]) async throws -> UInt32 {
        guard !bytes.isEmpty, bytes.count <= ArticleCompression.maxDictionaryLength else {
            throw StoreError("a dictionary must hold 1 to \(ArticleCompression.maxDictionaryLength) bytes, not \(bytes.count)")
        }
        let id = try await file.pool.write { db in try self.makeCurrent(db, dictionary: bytes) }
        currentDeflater.withLock { $0 = PresetDeflater(dictionary: bytes) }
        return id
    }

    /// Stores the dictionary and names it in the meta row, inside the caller's write transaction.
    func makeCurrent(_ db: Database, dictionary bytes: [UInt8]) throws -> UInt32 {
        let id = try file.insertDictionary(db, bytes: bytes)
        var state = try MetaState.load(db)
        state.dictionaryID = id
        try state.save(db)
        return id
    }

    /// The plain document of a stored change (inflated with its dictionary).
    public func inflateDocument(_ document: StoredDocument) async throws -> [UInt8] {
        try await file.pool.read { db in
            try self.file.inflateStored(db, compressed: document.compressed, documentLength: document.documentLength)
        }
    }
}
