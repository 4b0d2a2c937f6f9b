import NIOCore

// SNAPSHOT_REQUIRED (0x84), server → client, PROTOCOL.md §5.6.
//
//   u8         reason         1 = BELOW_HORIZON, 2 = STORE_MISMATCH, 3 = AHEAD_OF_SERVER
//   bytes[16]  storeId        the server's store id
//   u64        headRevision
//   u64        horizon
//   str16      message
extension SnapshotRequired {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let reason: SnapshotReason = try reader.readEnum("reason")
        let storeID = try reader.readStoreID("storeId")
        let headRevision: UInt64 = try reader.readInteger("headRevision")
        let horizon: UInt64 = try reader.readInteger("horizon")
        let message = try reader.readString16("message")
        try reader.finish()
        self.init(reason: reason, storeID: storeID, headRevision: headRevision, horizon: horizon, message: message)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(reason.rawValue)
        buffer.writeBytes(storeID.bytes)
        buffer.writeInteger(headRevision)
        buffer.writeInteger(horizon)
        buffer.writeText16(message)
    }
}
