import CZlib

/// One-shot zlib (RFC 1950) compression with optional preset dictionaries.
///
/// Inflation is always bounded: the caller states the exact or maximum output size, and inflating
/// stops the moment more would be produced, so a "zlib bomb" costs no more than that bound.
public enum Zlib {
    public enum Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        /// The data is not a valid zlib stream (or zlib failed).
        case corrupt(String)
        /// The stream would inflate to more than the allowed size.
        case tooLarge(limit: Int)
        /// The stream ended before producing the expected size.
        case tooShort(expected: Int, actual: Int)
        /// Bytes follow the end of the zlib stream.
        case trailingBytes
        /// The stream names a preset dictionary (its Adler-32) that the caller did not supply.
        case needsDictionary(id: UInt32)

        public var description: String {
            switch self {
            case .corrupt(let why): return "invalid zlib data: \(why)"
            case .tooLarge(let limit): return "zlib data inflates to more than \(limit) bytes"
            case .tooShort(let expected, let actual): return "zlib data inflates to \(actual) bytes, expected \(expected)"
            case .trailingBytes: return "bytes follow the end of the zlib stream"
            case .needsDictionary(let id): return "zlib data needs dictionary \(String(id, radix: 16))"
            }
        }
    }

    /// Adler-32 of `bytes`: the id zlib writes for a preset dictionary (FDICT).
    public static func adler32<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt32 {
        let sum = bytes.withContiguousStorageIfAvailable { buffer in
            UInt32(truncatingIfNeeded: CZlib.adler32(1, buffer.baseAddress, uInt(buffer.count)))
        }
        if let sum { return sum }
        let copy = Array(bytes)
        return copy.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: CZlib.adler32(1, buffer.baseAddress, uInt(buffer.count)))
        }
    }

    /// The preset-dictionary id in a zlib header, or nil when the stream has no FDICT.
    public static func dictionaryID(of stream: UnsafeRawBufferPointer) -> UInt32? {
        guard stream.count >= 6, stream[1] & 0x20 != 0 else { return nil }
        return UInt32(stream[2]) << 24 | UInt32(stream[3]) << 16 | UInt32(stream[4]) << 8 | UInt32(stream[5])
    }

    public static func dictionaryID(of stream: [UInt8]) -> UInt32? {
        stream.withUnsafeBytes { dictionaryID(of: $0) }
    }

    /// Compresses `input` into a zlib stream at `level` (0-9), with `dictionary` as preset dictionary.
    public static func deflate(
        _ input: UnsafeRawBufferPointer,
        level: Int32 = 9,
        dictionary: UnsafeRawBufferPointer? = nil
    ) throws(Error) -> [UInt8] {
        var stream = z_stream()
        guard CZlib_deflateInit2(&stream, level, Z_DEFLATED, 15, 9, Z_DEFAULT_STRATEGY) == Z_OK else {
            throw .corrupt("deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        if let dictionary, dictionary.count > 0 {
            let rc = deflateSetDictionary(
                &stream, dictionary.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(dictionary.count))
            guard rc == Z_OK else { throw .corrupt("deflateSetDictionary failed (\(rc))") }
        }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 16
        var output = [UInt8](repeating: 0, count: bound)
        var produced = 0
        let rc: Int32 = output.withUnsafeMutableBytes { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(out.count)
            let rc = CZlib.deflate(&stream, Z_FINISH)
            produced = out.count - Int(stream.avail_out)
            return rc
        }
        guard rc == Z_STREAM_END else { throw .corrupt("deflate did not finish (\(rc))") }
        output.removeSubrange(produced...)
        return output
    }

    public static func deflate(_ input: [UInt8], level: Int32 = 9, dictionary: [UInt8]? = nil) throws(Error) -> [UInt8] {
        do {
            return try input.withUnsafeBytes { inputBytes in
                if let dictionary {
                    return try dictionary.withUnsafeBytes { dictionaryBytes in
                        try deflate(inputBytes, level: level, dictionary: dictionaryBytes)
                    }
                }
                return try deflate(inputBytes, level: level, dictionary: nil)
            }
        } catch let error as Error {
            throw error
        } catch {
            throw .corrupt("\(error)")
        }
    }

    /// Inflates a whole zlib stream.
    ///
    /// - Parameters:
    ///   - exactLength: when set, the output must be exactly this long.
    ///   - maxLength: the output may not be longer than this (also the bound when `exactLength` is set).
    ///   - dictionary: called with the stream's DICTID when the stream needs a preset dictionary;
    ///     returning nil throws `needsDictionary`.
    ///   - allowTrailingBytes: when false, bytes after the end of the stream are an error.
    public static func inflate(
        _ input: UnsafeRawBufferPointer,
        exactLength: Int? = nil,
        maxLength: Int,
        allowTrailingBytes: Bool = false,
        dictionary: (UInt32) -> [UInt8]? = { _ in nil }
    ) throws(Error) -> [UInt8] {
        let limit = min(exactLength ?? maxLength, maxLength)
        var stream = z_stream()
        guard CZlib_inflateInit2(&stream, 15) == Z_OK else { throw .corrupt("inflateInit2 failed") }
        defer { inflateEnd(&stream) }

        // Grow the output geometrically up to the limit, so a short stream with a large limit stays cheap.
        var output = [UInt8](repeating: 0, count: exactLength.map { min($0, limit) } ?? min(limit, max(64, input.count * 4)))
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        // One spare byte beyond the limit tells "exactly at the limit" from "over the limit".
        var spare: UInt8 = 0
        while true {
            if produced == output.count && output.count < limit {
                output.append(contentsOf: repeatElement(0, count: min(limit, output.count * 2) - output.count))
            }
            let rc: Int32
            if produced < output.count {
                rc = output.withUnsafeMutableBytes { out in
                    stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                    stream.avail_out = uInt(out.count - produced)
                    let rc = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced = out.count - Int(stream.avail_out)
                    return rc
                }
            } else {
                rc = withUnsafeMutablePointer(to: &spare) { pointer in
                    stream.next_out = pointer
                    stream.avail_out = 1
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                if stream.avail_out == 0 { throw .tooLarge(limit: limit) }
            }
            switch rc {
            case Z_STREAM_END:
                if !allowTrailingBytes && stream.avail_in != 0 { throw .trailingBytes }
                if let exactLength, produced != exactLength {
                    throw .tooShort(expected: exactLength, actual: produced)
                }
                output.removeSubrange(produced...)
                return output
            case Z_NEED_DICT:
                let id = UInt32(truncatingIfNeeded: stream.adler)
                guard let bytes = dictionary(id) else { throw .needsDictionary(id: id) }
                let set = bytes.withUnsafeBytes { dictionaryBytes in
                    inflateSetDictionary(
                        &stream, dictionaryBytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(dictionaryBytes.count))
                }
                guard set == Z_OK else { throw .corrupt("dictionary \(String(id, radix: 16)) does not match") }
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: the input ended before the stream did.
                if stream.avail_in == 0 {
                    if let exactLength, produced < exactLength { throw .tooShort(expected: exactLength, actual: produced) }
                    throw .corrupt("the stream is truncated: it ends before its end-of-stream marker")
                }
                continue
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw .corrupt(message)
            }
        }
    }

    public static func inflate(
        _ input: [UInt8],
        exactLength: Int? = nil,
        maxLength: Int,
        allowTrailingBytes: Bool = false,
        dictionary: (UInt32) -> [UInt8]? = { _ in nil }
    ) throws(Error) -> [UInt8] {
        do {
            return try input.withUnsafeBytes { bytes in
                try inflate(bytes, exactLength: exactLength, maxLength: maxLength, allowTrailingBytes: allowTrailingBytes, dictionary: dictionary)
            }
        } catch let error as Error {
            throw error
        } catch {
            throw .corrupt("\(error)")
        }
    }
}
