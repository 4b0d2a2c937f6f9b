import Zlib

/// zlib for article documents (PROTOCOL.md §7.3, §7.4): documents compressed once with the store's
/// dictionary, deltas compressed with the previous version's source, and bounded inflation.
public enum ArticleCompression {
    /// zlib level for stored documents: 6 is within a few percent of 9 on article text at about
    /// half the CPU, and the import's budget is CPU.
    public static let level: Int32 = 6
    /// PROTOCOL.md §9 MAX_DOCUMENT.
    public static let maxDocumentLength = 16_777_216
    /// PROTOCOL.md §9 MAX_DICTIONARY; zlib uses at most its 32 KiB window of any dictionary.
    public static let maxDictionaryLength = 32_768

    /// A zlib stream of `document`, naming `dictionary` (FDICT) when one is given.
    public static func compressDocument(_ document: [UInt8], dictionary: [UInt8]?) -> [UInt8] {
        if let dictionary, !dictionary.isEmpty {
            return PresetDeflater(dictionary: dictionary).compress(document)
        }
        return deflateOrDie(document, dictionary: nil)
    }

    /// A DELTA (§7.4): `document` compressed with the base version's exact source as preset dictionary.
    public static func compressDelta(_ document: [UInt8], baseSource: [UInt8]) -> [UInt8] {
        deflateOrDie(document, dictionary: baseSource.isEmpty ? nil : baseSource)
    }

    /// Inflates a ZLIB document to exactly `documentLength` bytes; `dictionary` answers a DICTID.
    public static func inflateDocument(
        _ data: [UInt8], documentLength: Int, dictionary: (UInt32) -> [UInt8]? = { _ in nil }
    ) throws(Zlib.Error) -> [UInt8] {
        guard documentLength <= maxDocumentLength else { throw .tooLarge(limit: maxDocumentLength) }
        return try Zlib.inflate(data, exactLength: documentLength, maxLength: maxDocumentLength, dictionary: dictionary)
    }

    /// Inflates a DELTA against the base version's exact source.
    public static func inflateDelta(_ data: [UInt8], documentLength: Int, baseSource: [UInt8]) throws(Zlib.Error) -> [UInt8] {
        let expected = Zlib.adler32(baseSource)
        return try inflateDocument(data, documentLength: documentLength) { id in id == expected ? baseSource : nil }
    }

    /// A dictionary's id: its Adler-32, as a zlib header names it.
    public static func id(ofDictionary dictionary: [UInt8]) -> UInt32 {
        Zlib.adler32(dictionary)
    }

    /// The dictionary id a stream names in its zlib header (FDICT), or nil.
    public static func dictionaryID(of data: [UInt8]) -> UInt32? {
        Zlib.dictionaryID(of: data)
    }

    static func deflateOrDie(_ input: [UInt8], dictionary: [UInt8]?) -> [UInt8] {
        do {
            return try Zlib.deflate(input, level: level, dictionary: dictionary)
        } catch {
            // deflate fails only when zlib cannot allocate its state: nothing to recover.
            fatalError("zlib deflate failed: \(error)")
        }
    }
}
