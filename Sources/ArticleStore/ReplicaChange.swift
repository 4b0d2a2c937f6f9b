import ArticleModel

/// A change as a replica applies it (upstream revisions). `compressed` is the article's document as
/// the server sent it, when the sender has checked that it inflates to `article`: a mirror keeps
/// those bytes instead of the text (a third of the size on disk and to write).
public enum ReplicaChange: Sendable, Hashable {
    case put(id: String, revision: UInt64, article: Article, contentHash: [UInt8], compressed: CompressedDocument? = nil)
    /// A mirror's put: the document exactly as the server sent it, which the sender has inflated and
    /// checked against `contentHash`, with only its heading kept beside it (for `list`). The text
    /// is not held: a batch of large articles costs a mirror their compressed size, not their text.
    /// The store keeps the document; the dictionary it names must be in the store or saved with
    /// the same batch (`ApplyOptions.dictionaries`).
    case putDocument(id: String, revision: UInt64, heading: ArticleHeading, contentHash: [UInt8], document: CompressedDocument)
    case delete(id: String, revision: UInt64)

    public var id: String {
        switch self {
        case .put(let id, _, _, _, _), .putDocument(let id, _, _, _, _), .delete(let id, _): id
        }
    }

    /// The title of a put; nil for a deletion.
    public var title: String? {
        switch self {
        case .put(_, _, let article, _, _): article.title
        case .putDocument(_, _, let heading, _, _): heading.title
        case .delete: nil
        }
    }

    public var revision: UInt64 {
        switch self {
        case .put(_, let revision, _, _, _), .putDocument(_, let revision, _, _, _), .delete(_, let revision): revision
        }
    }

    /// An article written, not a deletion.
    var isPut: Bool {
        if case .delete = self { return false }
        return true
    }
}

/// What a listing shows of an article: its date, category and title.
public struct ArticleHeading: Sendable, Hashable {
    public var published: PublicationTime
    public var category: String
    public var title: String

    public init(published: PublicationTime, category: String, title: String) {
        self.published = published
        self.category = category
        self.title = title
    }

    public init(_ article: Article) {
        self.init(published: article.published, category: article.category, title: article.title)
    }
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

/// What a replica does beside applying a batch's changes, in the same transaction.
public struct ApplyOptions: Sendable, Hashable {
    /// `pull --keep-deleted`: a deletion keeps the article, no longer live, marked with this time
    /// (Unix seconds), so it can still be listed and exported (ReplicaStore+Kept). Nil: a
    /// deletion removes the row.
    public var keepDeletedAt: Int64?
    /// Dictionaries that an article of this batch decoded with to its content hash: kept from
    /// now on, saved before the batch's articles. A dictionary is never kept on its Adler-32 alone
    /// (three changed bytes can keep an Adler-32; a forged one would break every later pull).
    public var dictionaries: [UInt32: [UInt8]]
    /// Record each change in the replica's arrival log as arrived at this time (Unix seconds);
    /// nil records nothing (a bootstrap, ReplicaStore+Log).
    public var arrivedAt: Double?
    /// The paths the server sent with this batch's articles (SOURCE_PATH), recorded with them.
    public var sourcePaths: [SourcePath] = []
    /// The batch belongs to a bootstrap: its ids are new to the replica, so a row is tried as a
    /// plain INSERT first; otherwise (most ids are edits) the existing row is looked up first.
    public var expectsNewArticles = false

    public init(keepDeletedAt: Int64? = nil, dictionaries: [UInt32: [UInt8]] = [:], arrivedAt: Double? = nil) {
        self.keepDeletedAt = keepDeletedAt
        self.dictionaries = dictionaries
        self.arrivedAt = arrivedAt
    }
}

/// An article's path as imported on the server, relative to the imported folder.
public struct SourcePath: Sendable, Hashable {
    public var id: String
    public var path: String

    public init(id: String, path: String) {
        self.id = id
        self.path = path
    }
}

/// One article that differs between two replicas (`ReplicaStore.forEachDifference(to:_:)`).
public struct ReplicaDifference: Sendable, Hashable {
    public var kind: ArrivalKind
    public var id: String
    /// The other replica's title; nil for a deletion.
    public var title: String?
}
