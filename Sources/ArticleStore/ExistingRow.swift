import Foundation
import GRDB

/// What the store holds for an id, live or tombstone.
struct ExistingRow {
    var rowid: Int64
    var revision: UInt64
    var deleted: Bool
    var contentHash: [UInt8]?

    var liveRevision: UInt64 { deleted ? 0 : revision }

    static func fetch(_ db: Database, id: String) throws -> ExistingRow? {
        let statement = try db.cachedStatement(sql: "SELECT rowid, revision, deleted, content_hash FROM article WHERE id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [id]) else { return nil }
        return ExistingRow(
            rowid: row[0], revision: UInt64(clamping: row[1] as Int64), deleted: row[2],
            contentHash: (row[3] as Data?).map { [UInt8]($0) })
    }
}
