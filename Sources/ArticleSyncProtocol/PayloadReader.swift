import ArticleModel
import NIOCore

/// Reads one message payload field by field, turning every shortfall or out-of-range value into a
/// `ProtocolError` that names the message and the field.
///
/// Each read checks the bytes left in the payload before it allocates anything, so a length field
/// can never make the decoder reserve more memory than the frame itself already holds.
struct PayloadReader {
    private(set) var buffer: ByteBuffer
    let message: MessageType

    init(_ buffer: ByteBuffer, message: MessageType) {
        self.buffer = buffer
        self.message = message
    }

    var bytesLeft: Int { buffer.readableBytes }

    func malformed(_ what: String) -> ProtocolError {
        .malformed("\(message.name) \(what)")
    }

    mutating func readInteger<T: FixedWidthInteger>(_ field: StaticString, as: T.Type = T.self) throws(ProtocolError) -> T {
        guard let value = buffer.readInteger(as: T.self) else {
            throw truncated(field, needs: MemoryLayout<T>.size)
        }
        return value
    }

    /// A `u8` that must be one of an enum's raw values.
    mutating func readEnum<E: RawRepresentable>(_ field: StaticString, as: E.Type = E.self) throws(ProtocolError) -> E
    where E.RawValue == UInt8 {
        let raw: UInt8 = try readInteger(field)
        guard let value = E(rawValue: raw) else {
            throw malformed("has \(field) \(raw), which is not defined")
        }
        return value
    }

    /// `bytes[count]` as an array (for the fixed 4/16/32-byte fields).
    mutating func readByteArray(_ field: StaticString, count: Int) throws(ProtocolError) -> [UInt8] {
        guard let bytes = buffer.readBytes(length: count) else { throw truncated(field, needs: count) }
        return bytes
    }

    /// `count` raw bytes as a slice of the frame (no copy).
    mutating func readSlice(_ field: StaticString, count: Int) throws(ProtocolError) -> ByteBuffer {
        guard let slice = buffer.readSlice(length: count) else { throw truncated(field, needs: count) }
        return slice
    }

    mutating func readStoreID(_ field: StaticString) throws(ProtocolError) -> StoreID {
        let bytes = try readByteArray(field, count: StoreID.byteCount)
        guard let id = StoreID(bytes: bytes) else { throw malformed("\(field) is not \(StoreID.byteCount) bytes") }
        return id
    }

    mutating func readHash(_ field: StaticString) throws(ProtocolError) -> SHA256Hash {
        let bytes = try readByteArray(field, count: SHA256Hash.byteCount)
        guard let hash = SHA256Hash(bytes: bytes) else { throw malformed("\(field) is not \(SHA256Hash.byteCount) bytes") }
        return hash
    }

    /// `str8`: a `u8` length and that many bytes of UTF-8.
    mutating func readString8(_ field: StaticString, minLength: Int = 0) throws(ProtocolError) -> String {
        let length: UInt8 = try readInteger(field)
        return try readUTF8(field, length: Int(length), minLength: minLength, maxLength: Int(UInt8.max))
    }

    /// `str16`: a `u16` length and that many bytes of UTF-8, at most `maxLength` of them.
    mutating func readString16(_ field: StaticString, maxLength: Int = Int(UInt16.max)) throws(ProtocolError) -> String {
        let length: UInt16 = try readInteger(field)
        return try readUTF8(field, length: Int(length), minLength: 0, maxLength: maxLength)
    }

    /// An article id: a `str8` of 1-255 bytes (PROTOCOL.md §2).
    mutating func readID(_ field: StaticString = "id") throws(ProtocolError) -> String {
        try readString8(field, minLength: 1)
    }

    private mutating func readUTF8(_ field: StaticString, length: Int, minLength: Int, maxLength: Int) throws(ProtocolError) -> String {
        guard length >= minLength else {
            throw malformed("has a \(field) of \(length) bytes, below the minimum of \(minLength)")
        }
        guard length <= maxLength else {
            throw malformed("has a \(field) of \(length) bytes, above the limit of \(maxLength)")
        }
        guard let bytes = buffer.readSlice(length: length) else { throw truncated(field, needs: length) }
        // String(decoding:) repairs invalid UTF-8 with U+FFFD; the repair changes the bytes, so comparing
        // them with the input detects invalid UTF-8 without the macOS-15-only String(validating:).
        let view = bytes.readableBytesView
        let string = String(decoding: view, as: UTF8.self)
        guard string.utf8.elementsEqual(view) else {
            throw malformed("has a \(field) that is not valid UTF-8")
        }
        return string
    }

    /// Checks that the payload holds at least `count` more items of `minimumSize` bytes each, before
    /// the caller reserves room for them.
    func checkRoom(for count: UInt32, of minimumSize: Int, _ field: StaticString) throws(ProtocolError) {
        let needed = Int(count) * minimumSize
        guard needed <= bytesLeft else {
            throw malformed("announces \(count) \(field), which need at least \(needed) bytes but \(bytesLeft) are left")
        }
    }

    /// The layout must consume the payload exactly (PROTOCOL.md §3, rule 4).
    func finish() throws(ProtocolError) {
        guard bytesLeft == 0 else {
            throw malformed("has \(bytesLeft) bytes left over after its last field")
        }
    }

    private func truncated(_ field: StaticString, needs count: Int) -> ProtocolError {
        malformed("is truncated: \(field) needs \(count) bytes but \(bytesLeft) are left")
    }
}
