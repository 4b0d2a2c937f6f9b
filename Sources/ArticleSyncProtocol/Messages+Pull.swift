import ArticleModel
import NIOCore

// PULL (0x02), client → server, PROTOCOL.md §5.3.
//
//   bytes[16]  storeId         all zero = none yet
//   u64        sinceRevision   0 = bootstrap
//   u32        budget          0 = server default (the server clamps it)
//   u32        waitMillis      0 = answer now (the server clamps it)
//   u8         flags           bit 0 ACCEPT_DELTAS; bits 1-7 reserved, must be 0
extension Pull {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let storeID = try reader.readStoreID("storeId")
        let sinceRevision: UInt64 = try reader.readInteger("sinceRevision")
        let budget: UInt32 = try reader.readInteger("budget")
        let waitMillis: UInt32 = try reader.readInteger("waitMillis")
        let flagsByte: UInt8 = try reader.readInteger("flags")
        let flags = Flags(rawValue: flagsByte)
        guard flags.isSubset(of: .acceptDeltas) else {
            throw reader.malformed("flags 0x\(hexString([flagsByte])) set reserved bits")
        }
        try reader.finish()
        // Budget and wait are clamped by the server (§5.3), not refused here.
        self.init(storeID: storeID, sinceRevision: sinceRevision, budget: budget, waitMillis: waitMillis, flags: flags)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeBytes(storeID.bytes)
        buffer.writeInteger(sinceRevision)
        buffer.writeInteger(budget)
        buffer.writeInteger(waitMillis)
        buffer.writeInteger(flags.rawValue)
    }
}
