import CZlib
import Zlib

/// Compresses many small inputs with one preset dictionary.
///
/// `deflateSetDictionary` hashes the whole dictionary (32 KiB) on every call, which costs as much as
/// compressing the 3 KB article itself. This type loads the dictionary once and clones the primed
/// state with `deflateCopy` (a few memcpys) for each input. The primed stream is only ever read, so
/// one instance may be used from many threads at once.
///
/// The match search is tuned below level 6's defaults: with a dictionary full of good matches,
/// level 6's chains of 128 cost 1.7x the time of no dictionary. Measured on the scripts/corpus.py
/// corpus with a 32 KiB DictionaryBuilder dictionary: default level 6 gives 0.392 of raw at 272 µs
/// per article, chains of 24 give 0.404 at 186 µs (without a dictionary: 0.522 at 158 µs).
/// Compression is most of an import's CPU, so the import budget decides.
public final class PresetDeflater: @unchecked Sendable {
    /// deflateTune(good_length, max_lazy, nice_length, max_chain).
    public static let tuning: (good: Int32, lazy: Int32, nice: Int32, chain: Int32) = (8, 16, 128, 24)

    private let primed: UnsafeMutablePointer<z_stream>
    public let dictionaryID: UInt32

    public init(dictionary: [UInt8], level: Int32 = ArticleCompression.level) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard CZlib_deflateInit2(stream, level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
            fatalError("zlib deflateInit2 failed")
        }
        if level == ArticleCompression.level {
            let tuning = Self.tuning
            _ = deflateTune(stream, tuning.good, tuning.lazy, tuning.nice, tuning.chain)
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
