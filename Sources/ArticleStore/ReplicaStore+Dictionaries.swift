import ArticleModel
import Foundation
import GRDB

/// What `replaceDictionary` did with the documents that named the old bytes.
public struct DictionaryReplacement: Sendable, Hashable {
    /// Documents that read back right with the new bytes too (they stay compressed).
    public var kept: Int
    /// Documents that read back right only with the old bytes: now kept as text.
    public var expanded: Int

    public init(kept: Int, expanded: Int) {
        self.kept = kept
        self.expanded = expanded
    }
}

extension ReplicaStore {
    /// Replaces the kept dictionary `id` with other bytes of the same Adler-32, which an article
    /// has just proven (it decoded through them to its content hash) where the kept ones failed.
    ///
    /// Three changed bytes keep an Adler-32, so a forgery can pass as the dictionary, and one that
    /// happens to decode the articles that came with it gets kept; the next article that needs the
    /// bytes it changed then fails, and would fail every pull. Every stored document that names the
    /// dictionary is checked first, in the same transaction: one that reads back right with the new
    /// bytes stays compressed, one that reads back right only with the old ones is kept as text
    /// from them (so nothing becomes unreadable), and then the new bytes replace the old.
    public func replaceDictionary(id: UInt32, with bytes: [UInt8]) async throws -> DictionaryReplacement {
        try Self.checkDictionary(id: id, bytes: bytes)
        return try await file.pool.write { db in
            guard let old = try self.file.dictionary(db, id: id) else {
                _ = try self.file.insertDictionary(db, bytes: bytes)
                return DictionaryReplacement(kept: 0, expanded: 0)
            }
            var naming: [Int64] = []
            let headers = try Row.fetchCursor(db, sql: "SELECT rowid, substr(document, 1, 6) AS header FROM article WHERE document IS NOT NULL")
            while let row = try headers.next() {
                if ArticleCompression.dictionaryID(of: [UInt8](row["header"] as Data)) == id { naming.append(row["rowid"]) }
            }
            var result = DictionaryReplacement(kept: 0, expanded: 0)
            let select = try db.makeStatement(sql: "SELECT document, document_length, content_hash FROM article WHERE rowid = ?")
            let expand = try db.makeStatement(
                sql: "UPDATE article SET body = CAST(? AS TEXT), source = ?, document = NULL, document_length = NULL WHERE rowid = ?")
            for rowid in naming {
                guard let row = try Row.fetchOne(select, arguments: [rowid]) else { continue }
                let document = [UInt8](row[0] as Data)
                let length: Int = row[1]
                let hash = [UInt8](row[2] as Data)
                func decoded(with dictionary: [UInt8]) -> Article? {
                    guard let raw = try? ArticleCompression.inflateDocument(document, documentLength: length, dictionary: { _ in dictionary }),
                        let article = try? ArticleDocument.decode(raw), StoreDigest.contentHash(of: article.source) == hash
                    else { return nil }
                    return article
                }
                if decoded(with: bytes) != nil {
                    result.kept += 1
                } else if let article = decoded(with: old) {
                    let canonical = SeedFormat.render(article) == article.source
                    try expand.execute(arguments: [ExactText.argument(article.body), canonical ? nil : Data(article.source), rowid])
                    result.expanded += 1
                }
            }
            try db.execute(sql: "UPDATE dictionary SET bytes = ? WHERE id = ?", arguments: [Data(bytes), Int64(id)])
            self.file.dictionaries.withLock { $0[id] = bytes }
            return result
        }
    }
}
