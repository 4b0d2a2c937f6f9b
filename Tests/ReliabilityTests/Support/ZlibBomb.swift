import CZlib

/// A zlib stream that inflates to `inflatedSize` zero bytes (gigabytes fit in about a thousandth of
/// that), deflated chunk by chunk so the test never holds the inflated bytes.
enum ZlibBomb {
    static func zeros(inflatedSize: Int) -> [UInt8] {
        var stream = z_stream()
        precondition(CZlib_deflateInit(&stream, 9) == Z_OK)
        defer { deflateEnd(&stream) }
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        var output = [UInt8]()
        var out = [UInt8](repeating: 0, count: 1 << 16)
        var left = inflatedSize
        repeat {
            let take = min(left, chunk.count)
            left -= take
            let flush = left == 0 ? Z_FINISH : Z_NO_FLUSH
            chunk.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(take)
                repeat {
                    out.withUnsafeMutableBufferPointer { buffer in
                        stream.next_out = buffer.baseAddress
                        stream.avail_out = uInt(buffer.count)
                        _ = deflate(&stream, flush)
                        output += buffer[0..<(buffer.count - Int(stream.avail_out))]
                    }
                } while stream.avail_out == 0
            }
        } while left > 0
        return output
    }
}
