import NIOCore

// VERIFY_RESULT (0x86), server → client, PROTOCOL.md §5.10.
//
//   u8         status         0 = OK, 1 = BELOW_HORIZON, 2 = AHEAD_OF_HEAD
//   u64        revision       OK: the revision described; otherwise the server's head
//   u64        articleCount   live articles as of that revision (0 unless OK)
//   bytes[32]  digest         store digest as of that revision (zeros unless OK)
//
// (VERIFY (0x04) itself is one `u64 atRevision`, 0xFFFFFFFFFFFFFFFF = the head: see ClientMessage+Coding.swift.)
extension VerifyResult {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let status: Status = try reader.readEnum("status")
        let revision: UInt64 = try reader.readInteger("revision")
        let articleCount: UInt64 = try reader.readInteger("articleCount")
        let digest = try reader.readHash("digest")
        try reader.finish()
        self.init(status: status, revision: revision, articleCount: articleCount, digest: digest)
    }

    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(status.rawValue)
        buffer.writeInteger(revision)
        buffer.writeInteger(articleCount)
        buffer.writeBytes(digest.bytes)
    }
}
