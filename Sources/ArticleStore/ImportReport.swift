/// One file the importer refused, with where and why (PROTOCOL.md §7.1 rules).
public struct ImportFileError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var path: String
    /// The 1-based line of the problem, when it is about the content.
    public var line: Int?
    public var reason: String

    public init(path: String, line: Int?, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    /// "seeds/a.txt:1: expected 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category'"
    public var description: String {
        if let line { return "\(path):\(line): \(reason)" }
        return "\(path): \(reason)"
    }
}

/// Where an import stands; reported after each committed chunk.
public struct ImportProgress: Sendable, Hashable {
    public var files: Int
    public var added: Int
    public var updated: Int
    public var unchanged: Int
    public var refused: Int
}

/// The outcome of an import.
public struct ImportReport: Sendable, Hashable, Codable {
    public var files = 0
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    public var refused = 0
    /// Articles turned into tombstones by `deleteMissing`.
    public var deleted = 0
    public var errors: [ImportFileError] = []
    /// The store's head after the import.
    public var head: UInt64 = 0
    /// The dictionary this import built and installed, if it did.
    public var builtDictionaryID: UInt32?
    /// Set when `deleteMissing` was asked for but not done, with the reason.
    public var deletionSkipped: String?
    /// Symbolic links skipped because their target lies outside the folder being imported.
    public var skipped: [ImportFileError] = []
    /// With `ImportOptions.itemize`: each article added, changed or deleted, in that order.
    public var items: [ImportPlanItem] = []

    public init() {}

    var progress: ImportProgress {
        ImportProgress(files: files, added: added, updated: updated, unchanged: unchanged, refused: refused)
    }
}

/// How to import.
public struct ImportOptions: Sendable, Hashable {
    /// Turn live articles whose file was not found into tombstones (mirroring a directory).
    public var deleteMissing: Bool
    /// Files per write transaction: large enough that commits (each one an fsync) are rare, small
    /// enough that memory stays flat and a crash loses little work.
    public var chunkSize: Int
    /// When the store has no dictionary yet and the first chunk brings at least this many new
    /// articles, a dictionary is built from them before anything is compressed (PROTOCOL.md §7.3).
    public var dictionaryThreshold: Int
    /// Threads that parse, hash and compress.
    public var concurrency: Int
    /// `deleteMissing` deletes at most this fraction of the live articles, and never all of them
    /// because the walk found no file, unless `force` (`ImportRefusal`).
    public var maxDeleteFraction: Double
    public var force: Bool
    /// Keep a line per change in the report (`import -v`).
    public var itemize = false

    public init(
        deleteMissing: Bool = false, chunkSize: Int = 1_000, dictionaryThreshold: Int = 200, concurrency: Int? = nil,
        maxDeleteFraction: Double = 0.10, force: Bool = false
    ) {
        self.maxDeleteFraction = maxDeleteFraction
        self.force = force
        self.deleteMissing = deleteMissing
        self.chunkSize = max(1, chunkSize)
        self.dictionaryThreshold = dictionaryThreshold
        self.concurrency = max(1, concurrency ?? Importer.defaultConcurrency)
    }

    /// The most deletions `deleteMissing` may make in a store of `liveArticles`: the import and
    /// its dry run judge by this.
    func deletionLimit(of liveArticles: UInt64) -> Int {
        Int((Double(liveArticles) * maxDeleteFraction).rounded(.down))
    }
}

/// The import's mass-deletion guard refused (`ImportOptions.maxDeleteFraction`, a walk that found
/// no file): a sentence for the operator, who can re-run with `--force`.
public struct ImportRefusal: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
