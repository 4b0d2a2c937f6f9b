import NIOCore

// PUSH (0x03), client → server, PROTOCOL.md §5.7.
//
//   u32   count     1 ≤ count ≤ 10,000, else REQUEST_TOO_LARGE (non-fatal)
//   …     entries   count × Entry
//
// Entry:
//
//   u8        op                 1 = PUT, 2 = DELETE
//   str8      id                 1-255 bytes (the characters of §7.1 are the server's check: INVALID)
//   u64       expectedRevision   0 = expects no live article; 0xFFFFFFFFFFFFFFFF = ANY
//   --- op = PUT only ---
//   u32       sourceLength       1 ≤ n ≤ MAX_SOURCE
//   bytes[n]  source
extension Push {
    /// A DELETE with a one-byte id: op + str8 + expectedRevision.
    static let minimumEntrySize = 1 + 1 + 1 + 8

    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let count: UInt32 = try reader.readInteger("count")
        // Judged before the entries are read, so an oversized PUSH costs nothing to refuse.
        guard (1...ProtocolLimits.maxPushEntries).contains(count) else {
            throw ProtocolError(
                .requestTooLarge, "a PUSH holds 1 to \(ProtocolLimits.maxPushEntries) entries, this one announces \(count)")
        }
        try reader.checkRoom(for: count, of: Self.minimumEntrySize, "entries")
        var entries = [PushEntry]()
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            entries.append(try PushEntry(payload: &reader))
        }
        try reader.finish()
        self.init(entries: entries)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(entries.count))
        for entry in entries {
            entry.write(into: &buffer)
        }
    }
}

extension PushEntry {
    private enum Op: UInt8 {
        case put = 1
        case delete = 2
    }

    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let op: Op = try reader.readEnum("op")
        let id = try reader.readID()
        let expectedRevision: UInt64 = try reader.readInteger("expectedRevision")
        switch op {
        case .delete:
            self.init(id: id, expectedRevision: expectedRevision, operation: .delete)
        case .put:
            let sourceLength: UInt32 = try reader.readInteger("sourceLength")
            guard (1...ProtocolLimits.maxSourceLength).contains(sourceLength) else {
                throw reader.malformed(
                    "entry \"\(id)\" has a source of \(sourceLength) bytes; it must be 1 to \(ProtocolLimits.maxSourceLength)")
            }
            let source = try reader.readSlice("source", count: Int(sourceLength))
            self.init(id: id, expectedRevision: expectedRevision, operation: .put(source: source))
        }
    }

    func write(into buffer: inout ByteBuffer) {
        switch operation {
        case .put(let source):
            buffer.writeInteger(Op.put.rawValue)
            buffer.writeID(id)
            buffer.writeInteger(expectedRevision)
            precondition(source.readableBytes <= Int(UInt32.max), "a PUSH source does not fit sourceLength")
            buffer.writeInteger(UInt32(source.readableBytes))
            buffer.writeImmutableBuffer(source)
        case .delete:
            buffer.writeInteger(Op.delete.rawValue)
            buffer.writeID(id)
            buffer.writeInteger(expectedRevision)
        }
    }
}
