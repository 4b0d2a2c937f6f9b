import Foundation
import GRDB
import GRDBSQLite

/// The INSERT of a bootstrap's new row, bound straight to SQLite.
///
/// A full pull writes every article through this one statement, on the writer's thread, which is
/// the pull's critical path. GRDB's arguments box every value and copy the document, the hash and
/// the text into `Data` first, which cost more than SQLite's own insert; here each value is bound
/// from the bytes the change already holds, and SQLite copies what it keeps.
/// The columns and their encoding are those of `ReplicaStore.insertRowSQL`: the id and the source
/// path as TEXT, the other text columns as their exact UTF-8 bytes under `CAST(? AS TEXT)`
/// (ExactText), a NUL included.
struct NewRowInsert {
    static let sql = ReplicaStore.insertRowSQL + " ON CONFLICT DO NOTHING"

    struct Row {
        var id: String
        var revision: Int64
        var published: Int64
        var category: String
        var title: String
        var body: String?
        var source: Data?
        var contentHash: [UInt8]
        var document: [UInt8]?
        var documentLength: Int?
        var sourcePath: String?
    }

    /// Inserts `row` unless its id or revision is taken; returns whether it did.
    static func insert(_ db: Database, _ row: Row) throws -> Bool {
        let statement = try db.cachedStatement(sql: sql)
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer { sqlite3_clear_bindings(handle) }
        bindText(handle, 1, row.id)
        sqlite3_bind_int64(handle, 2, row.revision)
        sqlite3_bind_int64(handle, 3, row.published)
        bindExactText(handle, 4, row.category)
        bindExactText(handle, 5, row.title)
        if let body = row.body { bindExactText(handle, 6, body) }
        if let source = row.source { source.withUnsafeBytes { bindBlob(handle, 7, $0) } }
        row.contentHash.withUnsafeBytes { bindBlob(handle, 8, $0) }
        if let document = row.document { document.withUnsafeBytes { bindBlob(handle, 9, $0) } }
        if let length = row.documentLength { sqlite3_bind_int64(handle, 10, Int64(length)) }
        if let path = row.sourcePath { bindText(handle, 11, path) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
        }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    /// SQLite copies the bytes (SQLITE_TRANSIENT): the buffer is only valid inside the caller's closure.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func bindBlob(_ handle: OpaquePointer, _ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        // A zero-length buffer may have no address, which SQLite would bind as NULL.
        if let base = bytes.baseAddress, !bytes.isEmpty {
            sqlite3_bind_blob(handle, index, base, Int32(bytes.count), transient)
        } else {
            sqlite3_bind_zeroblob(handle, index, 0)
        }
    }

    /// For a `CAST(? AS TEXT)` placeholder: the UTF-8 bytes as a blob, which the cast makes TEXT.
    private static func bindExactText(_ handle: OpaquePointer, _ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bindBlob(handle, index, UnsafeRawBufferPointer($0)) }
    }

    /// For a plain placeholder of a TEXT column (the id, the source path): bound as TEXT, with its
    /// length, so that it compares equal to the same text in a query.
    private static func bindText(_ handle: OpaquePointer, _ index: Int32, _ text: String) {
        var text = text
        _ = text.withUTF8 { bytes in
            // An empty string's buffer may have no address; "" is still TEXT, not NULL.
            if let base = bytes.baseAddress {
                sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), transient)
            } else {
                sqlite3_bind_text(handle, index, "", 0, transient)
            }
        }
    }
}
