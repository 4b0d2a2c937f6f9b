import Foundation
import GRDB

/// Text columns hold the exact bytes of their `String`, a NUL included.
///
/// GRDB binds a `String` with `sqlite3_bind_text(…, -1, …)`, which reads it as a C string, and reads
/// TEXT back with `String(cString:)`: a body with a NUL byte (valid UTF-8, accepted by the seed format)
/// was stored, searched, shown and exported cut at the NUL. So the text columns (category, title,
/// body) are written from their UTF-8 bytes as `CAST(? AS TEXT)` (SQLite keeps the length, the value
/// stays TEXT for comparisons and the full-text index) and read back as `CAST(column AS BLOB)`.
enum ExactText {
    /// The argument for a `CAST(? AS TEXT)` placeholder.
    static func argument(_ text: String) -> Data { Data(text.utf8) }

    static func argument(_ text: String?) -> Data? { text.map { Data($0.utf8) } }

    /// A column read as `CAST(column AS BLOB)` (or as plain TEXT by an older query): its exact text.
    static func read(_ row: Row, _ column: String) -> String? {
        let value: DatabaseValue = row[column]
        switch value.storage {
        case .blob(let data): return String(decoding: data, as: UTF8.self)
        case .string(let text): return text
        default: return nil
        }
    }
}
