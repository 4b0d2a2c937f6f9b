import Foundation
import GRDB

/// The full-text index entries one transaction removes and adds, written at its end in rowid order.
///
/// FTS5 keeps new entries in memory until it writes them as a segment, and it writes one early
/// whenever an entry's rowid is below the last one's, and at every statement savepoint. A trigger
/// on `article`, or an `INSERT … SELECT`, makes each statement open one: kept by triggers, every
/// edited article became a segment of its own (and a removal one more), which FTS5 then merged
/// over and over. Here each entry is one single-row `INSERT … VALUES`, which opens none, in
/// ascending rowids: a batch becomes one segment.
///
/// FTS5 removes an external-content entry by tokenizing the text it was made from, so a removal
/// reads that text (through `article_text`) before its row changes.
struct FullTextIndexWrites {
    /// Text as the index read it, exact bytes.
    private struct StoredText {
        var title: Data?
        var body: Data?
    }

    /// Entries the index holds now, to remove: the text each was made from.
    private var removals: [Int64: StoredText] = [:]
    /// Entries to add, their text shared with the caller's; a body that is nil is read through
    /// `article_text` when written.
    private var additions: [Int64: (title: String, body: String?)] = [:]

    var isEmpty: Bool { removals.isEmpty && additions.isEmpty }

    /// The index entry of a live row goes; call before the row changes.
    mutating func remove(_ db: Database, rowid: Int64) throws {
        // Added in this transaction: not in the index yet, so there is nothing of it to remove.
        if additions.removeValue(forKey: rowid) != nil { return }
        guard removals[rowid] == nil else { return }
        removals[rowid] = try Self.indexedText(db, rowid: rowid) ?? StoredText()
    }

    /// A live row gets its entry, from `body` when the caller has the text.
    mutating func add(rowid: Int64, title: String, body: String?) {
        additions[rowid] = (title, body)
    }

    /// Writes the removals and additions, lowest rowid first, each row's removal before its addition.
    mutating func write(_ db: Database) throws {
        guard !isEmpty else { return }
        let remove = try db.cachedStatement(
            sql: "INSERT INTO article_fts(article_fts, rowid, title, body) VALUES ('delete', ?, CAST(? AS TEXT), CAST(? AS TEXT))")
        let add = try db.cachedStatement(sql: "INSERT INTO article_fts(rowid, title, body) VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT))")
        for rowid in Set(removals.keys).union(additions.keys).sorted() {
            if let old = removals[rowid] {
                try remove.execute(arguments: [rowid, old.title, old.body])
            }
            if let new = additions[rowid] {
                let body = try new.body.map(ExactText.argument) ?? Self.indexedText(db, rowid: rowid)?.body
                try add.execute(arguments: [rowid, ExactText.argument(new.title), body])
            }
        }
        removals = [:]
        additions = [:]
    }

    /// A row's text as the index reads it, as exact bytes (a NUL in a body must survive).
    private static func indexedText(_ db: Database, rowid: Int64) throws -> StoredText? {
        let statement = try db.cachedStatement(sql: "SELECT CAST(title AS BLOB), CAST(body AS BLOB) FROM article_text WHERE rowid = ?")
        guard let row = try Row.fetchOne(statement, arguments: [rowid]) else { return nil }
        return StoredText(title: row[0], body: row[1])
    }
}
