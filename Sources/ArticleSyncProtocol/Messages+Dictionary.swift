import NIOCore

// DICTIONARY (0x87), server → client, PROTOCOL.md §5.12.
//
//   u32       dictionaryId   Adler-32 of the bytes
//   u32       length         1 ≤ n ≤ 32,768
//   bytes[n]  bytes
//
// That the Adler-32 matches is the client's check (§5.12): it is a statement about the content, not
// the layout, and the client must handle a mismatch by its own rules.
//
// (GET_DICTIONARY (0x05) itself is one `u32 dictionaryId`: see ClientMessage+Coding.swift.)
extension StoreDictionary {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let id: UInt32 = try reader.readInteger("dictionaryId")
        let length: UInt32 = try reader.readInteger("length")
        guard (1...ProtocolLimits.maxDictionaryLength).contains(length) else {
            throw reader.malformed("has a dictionary of \(length) bytes; it must be 1 to \(ProtocolLimits.maxDictionaryLength)")
        }
        let bytes = try reader.readSlice("bytes", count: Int(length))
        try reader.finish()
        self.init(id: id, bytes: bytes)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(id)
        buffer.writeInteger(UInt32(bytes.readableBytes))
        buffer.writeImmutableBuffer(bytes)
    }
}
