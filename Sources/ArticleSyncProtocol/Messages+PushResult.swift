import NIOCore

// PUSH_RESULT (0x85), server → client, PROTOCOL.md §5.8.
//
//   u64   headRevision   the store's head after the commit
//   u32   count          equals the PUSH's count, so 1 ≤ count ≤ 10,000
//   …     results        count × Result, in the order of the PUSH's entries
//
// Result:
//
//   u8     status     0 = APPLIED, 1 = UNCHANGED, 2 = CONFLICT, 3 = INVALID, 4 = NOT_FOUND
//   u64    revision   APPLIED: the revision assigned; otherwise the current revision (0 if not live)
//   str16  message    empty for APPLIED; the reason otherwise
extension PushResult {
    /// status + revision + an empty str16.
    static let minimumEntrySize = 1 + 8 + 2

    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let headRevision: UInt64 = try reader.readInteger("headRevision")
        let count: UInt32 = try reader.readInteger("count")
        guard (1...ProtocolLimits.maxPushEntries).contains(count) else {
            throw reader.malformed("announces \(count) results; a PUSH has 1 to \(ProtocolLimits.maxPushEntries) entries")
        }
        try reader.checkRoom(for: count, of: Self.minimumEntrySize, "results")
        var results = [Entry]()
        results.reserveCapacity(Int(count))
        for _ in 0..<count {
            let status: Status = try reader.readEnum("status")
            let revision: UInt64 = try reader.readInteger("revision")
            let message = try reader.readString16("message")
            results.append(Entry(status: status, revision: revision, message: message))
        }
        try reader.finish()
        self.init(headRevision: headRevision, results: results)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(headRevision)
        buffer.writeInteger(UInt32(results.count))
        for result in results {
            buffer.writeInteger(result.status.rawValue)
            buffer.writeInteger(result.revision)
            buffer.writeText16(result.message)
        }
    }
}
