import ArticleModel
import NIOCore

// HELLO (0x01), client → server, PROTOCOL.md §5.1. The layout is frozen for all versions.
//
//   bytes[4]  magic        41 53 59 4E ("ASYN")
//   u16       minVersion   ≥ 1
//   u16       maxVersion   ≥ minVersion
//   u64       features
//   str16     token        0-1,024 bytes; empty = none
//   str8      agent
//   …         trailing     ignored, so that later versions can extend HELLO
extension Hello {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        // The magic is judged on whatever prefix arrived: "ASY" is truncated, "HTTP" is BAD_MAGIC.
        let prefix = reader.buffer.readableBytesView.prefix(Hello.magic.count)
        guard prefix.elementsEqual(Hello.magic.prefix(prefix.count)) else {
            throw ProtocolError(.badMagic, "HELLO does not start with the magic \"ASYN\" (got \(hexString(prefix)))")
        }
        _ = try reader.readByteArray("magic", count: Hello.magic.count)
        let minVersion: UInt16 = try reader.readInteger("minVersion")
        let maxVersion: UInt16 = try reader.readInteger("maxVersion")
        guard minVersion >= 1, minVersion <= maxVersion else {
            throw reader.malformed("has the version range \(minVersion)-\(maxVersion); it must satisfy 1 ≤ minVersion ≤ maxVersion")
        }
        let features = Features(rawValue: try reader.readInteger("features"))
        let token = try reader.readString16("token", maxLength: ProtocolLimits.maxTokenLength)
        let agent = try reader.readString8("agent")
        // No reader.finish(): trailing bytes are the one sanctioned extension point.
        self.init(minVersion: minVersion, maxVersion: maxVersion, features: features, token: token, agent: agent)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeBytes(Hello.magic)
        buffer.writeInteger(minVersion)
        buffer.writeInteger(maxVersion)
        buffer.writeInteger(features.rawValue)
        buffer.writeExactString16(token, maxBytes: ProtocolLimits.maxTokenLength)
        buffer.writeText8(agent)
    }
}
