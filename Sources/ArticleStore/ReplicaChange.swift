import ArticleModel

/// A change as a replica applies it (upstream revisions). `compressed` is the article's document as
/// the server sent it, when the sender has checked that it inflates to `article`: a mirror keeps
/// those bytes instead of the text (a third of the size on disk and to write).
public enum ReplicaChange: Sendable, Hashable {
    case put(id: String, revision: UInt64, article: Article, contentHash: [UInt8], compressed: CompressedDocument? = nil)
    case delete(id: String, revision: UInt64)
}

/// A document compressed with a store dictionary, as stored on the server and sent in a BATCH with
/// encoding ZLIB (PROTOCOL.md §7.3): the zlib header's FDICT names the dictionary.
public struct CompressedDocument: Sendable, Hashable {
    public var bytes: [UInt8]
    public var documentLength: Int

    public init(bytes: [UInt8], documentLength: Int) {
        self.bytes = bytes
        self.documentLength = documentLength
    }
}
