import CIsal
import Zlib

/// Inflates document after document, as `ArticleCompression.inflateDocument` does, in a state of
/// its own that keeps the last dictionary in ISA-L's window.
///
/// ISA-L starts every stream by copying its preset dictionary (32 KiB) into the window, and a
/// store's documents are a few KiB each, all from the same dictionary: the copy was a fifth of the
/// inflation. The inflater keeps the dictionary it last put in the window, retained, so the same
/// array (same storage, so the same bytes: nothing can change them in place while it is held) is
/// not copied again. Not for sharing between tasks: one inflater per sequence of documents.
public final class DocumentInflater {
    private let state: UnsafeMutablePointer<inflate_state>?
    /// The dictionary the window holds, when it holds one.
    private var window: [UInt8]? = nil

    public init() {
        state = CIsal_newState()
    }

    deinit {
        free(state)
    }

    public func inflate(
        _ input: UnsafeRawBufferPointer, documentLength: Int, presetDictionary: (UInt32) -> [UInt8]?
    ) throws(Zlib.Error) -> [UInt8] {
        guard let state else { throw .corrupt("no memory to inflate") }
        return try ArticleCompression.inflatePreset(input, documentLength: documentLength, presetDictionary: presetDictionary) {
            body, dictionary, out, result in
            let held = window.map { Self.sameStorage($0, dictionary) } ?? false
            window = nil
            var intact: Int32 = 0
            let rc = dictionary.withUnsafeBufferPointer { dictionaryBytes in
                CIsal_inflateRawIn(
                    state, body.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(body.count), dictionaryBytes.baseAddress,
                    UInt32(dictionaryBytes.count), held ? 1 : 0, out.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(out.count),
                    &result.produced, &result.unused, &result.finished, &intact)
            }
            if intact != 0 { window = dictionary }
            return rc
        }
    }

    private static func sameStorage(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }
}
