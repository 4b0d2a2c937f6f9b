import NIOCore

// Writers for the field types of PROTOCOL.md §2. Free text (agents, messages) is cut to fit its
// length field at a character boundary; ids and tokens longer than the spec allows are programming
// errors of the caller (they are validated where they enter the system), so they trap.

extension ByteBuffer {
    /// `str8`, for free text: cut to 255 bytes at a character boundary.
    mutating func writeText8(_ string: String) {
        let bytes = string.utf8Prefix(maxBytes: Int(UInt8.max))
        writeInteger(UInt8(bytes.count))
        writeBytes(bytes)
    }

    /// `str16`, for free text: cut to `maxBytes` (≤ 65,535) at a character boundary.
    mutating func writeText16(_ string: String, maxBytes: Int = Int(UInt16.max)) {
        let bytes = string.utf8Prefix(maxBytes: Swift.min(maxBytes, Int(UInt16.max)))
        writeInteger(UInt16(bytes.count))
        writeBytes(bytes)
    }

    /// An article id: `str8` of 1-255 bytes.
    mutating func writeID(_ id: String) {
        let count = id.utf8.count
        precondition((1...255).contains(count), "an article id is 1-255 bytes of UTF-8, got \(count)")
        writeInteger(UInt8(count))
        writeString(id)
    }

    /// `str16` that must not be cut (a token): traps above `maxBytes`.
    mutating func writeExactString16(_ string: String, maxBytes: Int) {
        let count = string.utf8.count
        precondition(count <= maxBytes, "a string of \(count) bytes exceeds its limit of \(maxBytes)")
        writeInteger(UInt16(count))
        writeString(string)
    }
}

extension String {
    /// The longest prefix of the UTF-8 bytes that is at most `maxBytes` long and ends on a scalar boundary.
    func utf8Prefix(maxBytes: Int) -> Substring.UTF8View {
        let utf8 = self.utf8
        guard utf8.count > maxBytes else { return self[...].utf8 }
        var end = utf8.index(utf8.startIndex, offsetBy: maxBytes)
        // Continuation bytes are 0b10xxxxxx: step back to the first byte of the scalar we would split.
        while end > utf8.startIndex && utf8[end] & 0xC0 == 0x80 {
            end = utf8.index(before: end)
        }
        return self[..<end].utf8
    }
}
