import NIOCore

// WELCOME (0x81), server → client, PROTOCOL.md §5.2.
//
//   u16        version          negotiated protocol version
//   u64        features         bits in force (client's ∩ server's)
//   bytes[16]  storeId
//   u64        headRevision
//   u64        horizon
//   u32        maxFrameLength   largest frame `length` the server accepts on this connection
//   u8         role             1 = READ, 2 = WRITE
//   str8       agent
extension Welcome {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let version: UInt16 = try reader.readInteger("version")
        let features = Features(rawValue: try reader.readInteger("features"))
        let storeID = try reader.readStoreID("storeId")
        let headRevision: UInt64 = try reader.readInteger("headRevision")
        let horizon: UInt64 = try reader.readInteger("horizon")
        let maxFrameLength: UInt32 = try reader.readInteger("maxFrameLength")
        let role: Role = try reader.readEnum("role")
        let agent = try reader.readString8("agent")
        try reader.finish()
        self.init(
            version: version, features: features, storeID: storeID, headRevision: headRevision, horizon: horizon,
            maxFrameLength: maxFrameLength, role: role, agent: agent)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(version)
        buffer.writeInteger(features.rawValue)
        buffer.writeBytes(storeID.bytes)
        buffer.writeInteger(headRevision)
        buffer.writeInteger(horizon)
        buffer.writeInteger(maxFrameLength)
        buffer.writeInteger(role.rawValue)
        buffer.writeText8(agent)
    }
}
