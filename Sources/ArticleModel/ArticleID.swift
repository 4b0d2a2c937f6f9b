/// Article ids (PROTOCOL.md §7.1): 1-255 bytes of UTF-8, no control bytes (below 0x20, 0x7F),
/// no `/` or `\`, not starting with `.`.
public enum ArticleID {
    public static let maxLength = 255

    /// Why `id` is not a valid article id, or nil when it is.
    public static func problem(with id: String) -> String? {
        let bytes = id.utf8
        if bytes.isEmpty { return "the id is empty" }
        if bytes.count > maxLength { return "the id is \(bytes.count) bytes long, more than \(maxLength)" }
        if bytes.first == UInt8(ascii: ".") { return "the id '\(id)' starts with '.'" }
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F { return "the id contains a control character" }
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\") { return "the id '\(id)' contains '/' or '\\'" }
        }
        return nil
    }

    public static func isValid(_ id: String) -> Bool { problem(with: id) == nil }
}
