/// An article id compared as its bytes (PROTOCOL.md §7.1).
///
/// Swift's `String` compares and hashes by canonical equivalence: NFC "café" (63 61 66 C3 A9) and NFD
/// "café" (63 61 66 65 CC 81) are `==`, one key of a `Set<String>`. For the store they are two ids,
/// as SQLite compares TEXT byte for byte, and the server keeps both. Whatever groups, dedupes or
/// sorts ids (an export's file list, a push's repeated-id check, a re-bootstrap's removals) uses this
/// key; a `String` still carries the id (its `utf8` view is the exact bytes: Swift never normalizes).
public struct ArticleKey: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ id: String) { bytes = Array(id.utf8) }

    public init(stringLiteral value: String) { self.init(value) }

    /// The id as a `String` holding exactly these bytes.
    public var id: String { String(decoding: bytes, as: UTF8.self) }

    /// Byte order, as SQLite's BINARY collation sorts ids.
    public static func < (a: ArticleKey, b: ArticleKey) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    public var description: String { id }
}
