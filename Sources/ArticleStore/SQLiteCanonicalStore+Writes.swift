import ArticleModel
import Foundation
import GRDB

/// The write path of the canonical store, shared by push (`apply`) and the importer. Every
/// function here runs inside the caller's write transaction and takes the next revision.
extension SQLiteCanonicalStore {
    /// Writes a new version of `id` (new, revived after a tombstone, or edited).
    func canonicalPut(
        _ db: Database, id: String, prepared: PreparedArticle, existing: ExistingRow?, state: inout MetaState
    ) throws -> UInt64 {
        state.head += 1
        let revision = state.head
        var delta: (baseRevision: UInt64, baseHash: [UInt8], bytes: [UInt8])?
        if let existing, !existing.deleted {
            if let oldHash = existing.contentHash {
                state.digest.subtract(StoreDigest.element(id: id, contentHash: oldHash))
                // An edit: compress it once more with the previous source as dictionary (§7.4); kept
                // only when smaller than the full document, else the server would never send it.
                if let document = prepared.document, let baseSource = try canonicalSource(db, rowid: existing.rowid) {
                    let bytes = ArticleCompression.compressDelta(document, baseSource: baseSource)
                    if bytes.count < prepared.compressed.count {
                        delta = (existing.revision, oldHash, bytes)
                    }
                }
            }
        } else {
            state.liveCount += 1
        }
        state.digest.add(StoreDigest.element(id: id, contentHash: prepared.contentHash))

        let arguments: StatementArguments = [
            // Listing columns as their exact bytes (ExactText); the document is the article.
            Int64(revision), prepared.published.sortKey, ExactText.argument(prepared.category), ExactText.argument(prepared.title),
            Data(prepared.contentHash), Data(prepared.compressed), prepared.documentLength,
            delta.map { Int64($0.baseRevision) }, delta.map { Data($0.baseHash) }, delta.map { Data($0.bytes) },
        ]
        if let existing {
            try db.cachedStatement(
                sql: """
                    UPDATE article SET revision = ?, deleted = 0, published = ?, category = CAST(? AS TEXT), title = CAST(? AS TEXT), body = NULL,
                        source = NULL, content_hash = ?, document = ?, document_length = ?,
                        delta_base_revision = ?, delta_base_hash = ?, delta = ?
                    WHERE rowid = ?
                    """
            ).execute(arguments: arguments + [existing.rowid])
        } else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO article (id, revision, deleted, published, category, title, content_hash, document,
                        document_length, delta_base_revision, delta_base_hash, delta)
                    VALUES (?, ?, 0, ?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [id] + arguments)
        }
        try state.logDigest(db)
        return revision
    }

    /// Turns the live article `existing` into a tombstone.
    func canonicalDelete(_ db: Database, id: String, existing: ExistingRow, state: inout MetaState) throws -> UInt64 {
        state.head += 1
        if let oldHash = existing.contentHash {
            state.digest.subtract(StoreDigest.element(id: id, contentHash: oldHash))
        }
        state.liveCount -= 1
        try db.cachedStatement(
            sql: """
                UPDATE article SET revision = ?, deleted = 1, published = NULL, category = NULL, title = NULL,
                    body = NULL, source = NULL, content_hash = NULL, document = NULL, document_length = NULL,
                    delta_base_revision = NULL, delta_base_hash = NULL, delta = NULL
                WHERE rowid = ?
                """
        ).execute(arguments: [Int64(state.head), existing.rowid])
        try state.logDigest(db)
        return state.head
    }

    /// The exact source of a live canonical article, recreated from its stored document.
    func canonicalSource(_ db: Database, rowid: Int64) throws -> [UInt8]? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT document, document_length FROM article WHERE rowid = ?"), arguments: [rowid]),
            let document = row[0] as Data?
        else { return nil }
        let article = try file.decodeStored(db, compressed: [UInt8](document), documentLength: row[1])
        return article.source
    }
}
