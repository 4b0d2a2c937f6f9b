import NIOCore

// ERROR (0x7F), either direction, PROTOCOL.md §5.14.
//
//   u16    code      §8; a code this version does not know is kept raw (and treated as fatal)
//   str16  message   ≤ 1,024 bytes
extension ErrorMessage {
    init(payload reader: inout PayloadReader) throws(ProtocolError) {
        let rawCode: UInt16 = try reader.readInteger("code")
        let message = try reader.readString16("message", maxLength: ProtocolLimits.maxErrorMessageLength)
        try reader.finish()
        self.init(rawCode: rawCode, message: message)
    }

    /// Messages longer than MAX_ERROR_MESSAGE are cut at a character boundary, so a long sentence
    /// never turns an ERROR into a frame the peer must refuse.
    func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeInteger(rawCode)
        buffer.writeText16(message, maxBytes: ProtocolLimits.maxErrorMessageLength)
    }
}
