import CIsal
import Zlib

extension ArticleCompression {
    /// Inflates a ZLIB document to exactly `documentLength` bytes without zlib's re-check of the
    /// preset dictionary: `inflateSetDictionary` recomputes the Adler-32 of the whole (32 KiB)
    /// dictionary for every stream, which cost more than inflating a 3 KB article (a fifth of a full
    /// pull's CPU). The stream is inflated raw after its header is read here, by ISA-L's igzip,
    /// which inflates the same format in about half zlib's time; a wrong dictionary still fails, on
    /// the Adler-32 of the output in the stream's trailer. Streams without FDICT, or with a header
    /// this does not accept, take the ordinary path (and its errors).
    public static func inflateDocument(
        _ input: UnsafeRawBufferPointer, documentLength: Int, presetDictionary: (UInt32) -> [UInt8]?
    ) throws(Zlib.Error) -> [UInt8] {
        try inflatePreset(input, documentLength: documentLength, presetDictionary: presetDictionary) { body, dictionary, out, result in
            dictionary.withUnsafeBufferPointer { dictionaryBytes in
                CIsal_inflateRaw(
                    body.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(body.count), dictionaryBytes.baseAddress,
                    UInt32(dictionaryBytes.count), out.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(out.count),
                    &result.produced, &result.unused, &result.finished)
            }
        }
    }

    /// What one raw inflation reports (CIsal_inflateRawIn).
    struct RawResult {
        var produced: UInt32 = 0
        var unused: UInt32 = 0
        var finished: Int32 = 0
    }

    /// Reads the zlib header, inflates the raw stream after it with `inflateRaw` (ISA-L, from the
    /// preset dictionary) and checks the result: exactly `documentLength` bytes, nothing after the
    /// trailer, the trailer's Adler-32.
    static func inflatePreset(
        _ input: UnsafeRawBufferPointer, documentLength: Int, presetDictionary: (UInt32) -> [UInt8]?,
        inflateRaw: (_ body: UnsafeRawBufferPointer, _ dictionary: [UInt8], _ out: UnsafeMutableRawBufferPointer, _ result: inout RawResult) -> Int32
    ) throws(Zlib.Error) -> [UInt8] {
        guard documentLength <= maxDocumentLength else { throw .tooLarge(limit: maxDocumentLength) }
        guard input.count >= 10, input[0] & 0x0F == 8, input[0] >> 4 <= 7, input[1] & 0x20 != 0,
            (UInt16(input[0]) << 8 | UInt16(input[1])) % 31 == 0
        else {
            return try Zlib.inflate(input, exactLength: documentLength, maxLength: maxDocumentLength, dictionary: presetDictionary)
        }
        let id = bigEndianU32(input, at: 2)
        guard let dictionary = presetDictionary(id) else { throw .needsDictionary(id: id) }
        let body = UnsafeRawBufferPointer(rebasing: input[6...])
        // One spare byte beyond the length tells "exactly the length" from "longer".
        var output = [UInt8](repeating: 0, count: documentLength + 1)
        var result = RawResult()
        let rc = output.withUnsafeMutableBytes { out in inflateRaw(body, dictionary, out, &result) }
        switch rc {
        case ISAL_DECOMP_OK, ISAL_END_INPUT, ISAL_OUT_OVERFLOW:
            if Int(result.produced) > documentLength { throw .tooLarge(limit: documentLength) }
            if result.finished == 0 || Int(result.produced) != documentLength {
                throw .tooShort(expected: documentLength, actual: Int(result.produced))
            }
        case CISAL_NO_MEMORY:
            throw .corrupt("no memory to inflate")
        default:
            throw .corrupt("invalid deflate data (igzip error \(rc))")
        }
        guard result.unused >= 4 else { throw .corrupt("truncated stream") }
        guard result.unused == 4 else { throw .trailingBytes }
        output.removeLast()
        let check = output.withUnsafeBufferPointer { CIsal_adler32($0.baseAddress, UInt64($0.count)) }
        guard check == bigEndianU32(body, at: body.count - 4) else {
            throw .corrupt("incorrect data check")
        }
        return output
    }

    private static func bigEndianU32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
