import CZlib
import Zlib

/// Compresses many small inputs with one preset dictionary.
///
/// `deflateSetDictionary` hashes the whole dictionary (32 KiB) on every call, which costs as much as
/// compressing the 3 KB article itself. This type loads the dictionary once and clones the primed
/// state with `deflateCopy` (a few memcpys) for each input. The primed stream is only ever read, so
/// one instance may be used from many threads at once.
///
/// The level's own match search is kept: a document is compressed once, at import, and sent to
/// every client that pulls it, so shorter chains (cheaper imports) cost every pull the bytes they
/// lose; level 9 finds little more at twice the CPU (scripts/bench measures the wire bytes).
public final class PresetDeflater: @unchecked Sendable {
    private let primed: UnsafeMutablePointer<z_stream>
    public let dictionaryID: UInt32

    public init(dictionary: [UInt8], level: Int32 = ArticleCompression.level) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard CZlib_deflateInit2(stream, level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
            fatalError("zlib deflateInit2 failed")
        }
        let rc = dictionary.withUnsafeBufferPointer { buffer in
            deflateSetDictionary(stream, buffer.baseAddress, uInt(buffer.count))
        }
        guard rc == Z_OK else { fatalError("zlib deflateSetDictionary failed (\(rc))") }
        primed = stream
        dictionaryID = Zlib.adler32(dictionary)
    }

    deinit {
        deflateEnd(primed)
        primed.deinitialize(count: 1)
        primed.deallocate()
    }

    public func compress(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard deflateCopy(&stream, primed) == Z_OK else { fatalError("zlib deflateCopy failed") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 16
        var output = [UInt8](repeating: 0, count: bound)
        var produced = 0
        let rc: Int32 = input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let rc = deflate(&stream, Z_FINISH)
                produced = out.count - Int(stream.avail_out)
                return rc
            }
        }
        guard rc == Z_STREAM_END else { fatalError("zlib deflate did not finish (\(rc))") }
        output.removeSubrange(produced...)
        return output
    }
}
