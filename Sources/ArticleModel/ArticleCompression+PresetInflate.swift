import CZlib
import Zlib

extension ArticleCompression {
    /// Inflates a ZLIB document to exactly `documentLength` bytes without zlib's re-check of the
    /// preset dictionary: `inflateSetDictionary` recomputes the Adler-32 of the whole (32 KiB)
    /// dictionary for every stream, which cost more than inflating a 3 KB article (a fifth of a full
    /// pull's CPU). The stream is inflated raw after its header is read here; a wrong dictionary
    /// still fails, on the Adler-32 of the output in the stream's trailer. Streams without FDICT,
    /// or with a header this does not accept, take the ordinary path (and its errors).
    public static func inflateDocument(
        _ input: UnsafeRawBufferPointer, documentLength: Int, presetDictionary: (UInt32) -> [UInt8]?
    ) throws(Zlib.Error) -> [UInt8] {
        guard documentLength <= maxDocumentLength else { throw .tooLarge(limit: maxDocumentLength) }
        guard input.count >= 10, input[0] & 0x0F == 8, input[0] >> 4 <= 7, input[1] & 0x20 != 0,
            (UInt16(input[0]) << 8 | UInt16(input[1])) % 31 == 0
        else {
            return try Zlib.inflate(input, exactLength: documentLength, maxLength: maxDocumentLength, dictionary: presetDictionary)
        }
        let id = bigEndianU32(input, at: 2)
        guard let dictionary = presetDictionary(id) else { throw .needsDictionary(id: id) }
        var stream = z_stream()
        guard CZlib_inflateInit2(&stream, -15) == Z_OK else { throw .corrupt("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        let set = dictionary.withUnsafeBytes { bytes in
            inflateSetDictionary(&stream, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
        }
        guard set == Z_OK else { throw .corrupt("dictionary \(String(id, radix: 16)) cannot be set") }
        let body = UnsafeRawBufferPointer(rebasing: input[6...])
        stream.next_in = UnsafeMutablePointer(mutating: body.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(body.count)
        // One spare byte beyond the length tells "exactly the length" from "longer".
        var output = [UInt8](repeating: 0, count: documentLength + 1)
        let rc = output.withUnsafeMutableBytes { out in
            stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(out.count)
            return CZlib.inflate(&stream, Z_FINISH)
        }
        let produced = output.count - Int(stream.avail_out)
        switch rc {
        case Z_STREAM_END, Z_BUF_ERROR:
            if produced > documentLength { throw .tooLarge(limit: documentLength) }
            if rc == Z_BUF_ERROR || produced != documentLength {
                throw .tooShort(expected: documentLength, actual: produced)
            }
        default:
            throw .corrupt(stream.msg.map { String(cString: $0) } ?? "error \(rc)")
        }
        let rest = Int(stream.avail_in)
        guard rest >= 4 else { throw .corrupt("truncated stream") }
        guard rest == 4 else { throw .trailingBytes }
        output.removeLast()
        guard Zlib.adler32(output) == bigEndianU32(body, at: body.count - 4) else {
            throw .corrupt("incorrect data check")
        }
        return output
    }

    private static func bigEndianU32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
