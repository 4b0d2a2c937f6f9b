import ArticleModel
import Foundation
import GRDB
import Synchronization

/// Imports seed files (PROTOCOL.md §7.1) into the canonical store.
///
/// Files are taken in chunks (`ImportOptions.chunkSize`). For each chunk, worker threads read,
/// parse and hash the files; one read looks up which are new or changed; the workers encode and
/// compress those; then one write transaction assigns their revisions, while the workers already
/// start on the next chunk. A file's change is thus all-or-nothing (its chunk commits or not), a
/// re-import of unchanged files compresses nothing and writes nothing, and memory holds at most
/// two chunks whatever the number of files.
public struct Importer: Sendable {
    public static let defaultConcurrency = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// PROTOCOL.md §9 MAX_SOURCE: a larger file could never be pushed or served as a source.
    public static let maxSourceLength = 4_194_304

    public let store: SQLiteCanonicalStore
    public let options: ImportOptions

    public init(store: SQLiteCanonicalStore, options: ImportOptions = ImportOptions()) {
        self.store = store
        self.options = options
    }

    /// Runs the import on a thread of its own (it blocks while it works) and returns its report.
    public func run(paths: [String], progress: (@Sendable (ImportProgress) -> Void)? = nil) async throws -> ImportReport {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try self.runBlocking(paths: paths, progress: progress) })
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
    }

    /// The import on the calling thread.
    public func runBlocking(paths: [String], progress: (@Sendable (ImportProgress) -> Void)? = nil) throws -> ImportReport {
        // A table of the ids seen in this run: finds two files with one id, and tells
        // --delete-missing what is gone, without holding every id in memory.
        let seenTable = "import_seen_\(UInt32.random(in: 0...UInt32.max))"
        try store.file.pool.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TEMP TABLE \(seenTable) (id TEXT PRIMARY KEY, path TEXT NOT NULL)")
        }
        defer {
            try? store.file.pool.writeWithoutTransaction { db in try db.execute(sql: "DROP TABLE IF EXISTS temp.\(seenTable)") }
        }

        if options.deleteMissing && !options.force { try checkDeletionGuard(paths: paths) }

        let shared = SharedState()
        let writer = DispatchQueue(label: "articlesync.import.writer")
        // One chunk may wait or be written while the next is prepared; never more.
        let slots = DispatchSemaphore(value: 1)
        // Whatever ends this function, the chunk in flight is finished first (before the temp
        // table it uses is dropped above).
        defer { writer.sync {} }
        var deflater = store.currentDeflater.withLock { $0 }
        var isFirstChunk = true
        var walker = FileWalker(roots: paths)

        while shared.failure.withLock({ $0 == nil }) {
            var chunk: [FileWalker.Item] = []
            chunk.reserveCapacity(options.chunkSize)
            while chunk.count < options.chunkSize, let item = walker.next() { chunk.append(item) }
            if chunk.isEmpty { break }

            // What the store holds of these ids, read first: then each file is read, hashed and
            // (when it changed) compressed in one pass, and a chunk never holds all its text at
            // once. Only the first chunk of a store without a dictionary waits to be compressed
            // with the dictionary built from it.
            let stored = try storedHashes(of: chunk)
            let buildsDictionary = isFirstChunk && deflater == nil
            isFirstChunk = false
            let chunkDeflater = deflater
            var entries = Parallel.map(Array(zip(chunk, stored)), concurrency: options.concurrency) { item, storedHash in
                var entry = Self.load(item)
                if let storedHash, entry.article != nil {
                    entry.replacesLiveArticle = true
                    if storedHash == entry.contentHash { entry.needsWrite = false }
                }
                if !buildsDictionary { Self.prepare(&entry, deflater: chunkDeflater) }
                return entry
            }

            if buildsDictionary {
                let fresh = entries.compactMap { $0.needsWrite ? $0.article : nil }
                if fresh.count >= options.dictionaryThreshold {
                    let samples = fresh.map { ArticleDocument.encode($0) }
                    let bytes = DictionaryBuilder.build(samples: samples)
                    let id = try store.file.pool.write { db in try store.makeCurrent(db, dictionary: bytes) }
                    let primed = PresetDeflater(dictionary: bytes)
                    store.currentDeflater.withLock { $0 = primed }
                    deflater = primed
                    shared.report.withLock { $0.builtDictionaryID = id }
                }
                let firstDeflater = deflater
                entries = Parallel.map(entries, concurrency: options.concurrency) { entry in
                    var entry = entry
                    Self.prepare(&entry, deflater: firstDeflater)
                    return entry
                }
            }
            let prepared = entries

            slots.wait()
            writer.async {
                defer { slots.signal() }
                guard shared.failure.withLock({ $0 == nil }) else { return }
                do {
                    let progressNow = try self.write(prepared, roots: paths, seenTable: seenTable, deflater: chunkDeflater, shared: shared)
                    progress?(progressNow)
                } catch {
                    shared.failure.withLock { $0 = error }
                }
            }
        }
        writer.sync {}
        if let error = shared.failure.withLock({ $0 }) { throw error }

        if options.deleteMissing {
            if walker.sawEverything {
                try deleteMissing(seenTable: seenTable, shared: shared)
            } else {
                shared.report.withLock {
                    $0.deletionSkipped = "not deleting missing articles: some paths could not be read"
                }
            }
        }
        let head = try store.file.pool.read { db in try MetaState.load(db).head }
        return shared.report.withLock { report in
            report.head = head
            return report
        }
    }

    /// What the import thread and the writer queue share.
    final class SharedState: Sendable {
        let report = Mutex(ImportReport())
        let failure = Mutex<(any Error)?>(nil)
    }

    /// One file on its way through the import.
    struct Entry: Sendable {
        var path: String
        var id: String?
        var article: Article?
        var contentHash: [UInt8]?
        var error: ImportFileError?
        var needsWrite = true
        /// The store held a live version of it when the chunk was read (an edit, whose document
        /// is kept for the delta against it).
        var replacesLiveArticle = false
        var prepared: PreparedArticle?
        /// A symbolic link out of the folder: reported, not read, and its id not seen.
        var skipped = false

        enum Content {
            case prepared(PreparedArticle)
            case article(Article)
        }

        /// What the write stores: the prepared article, else the article (nil: the file was refused).
        var content: Content? { prepared.map(Content.prepared) ?? article.map(Content.article) }
    }

    static func load(_ item: FileWalker.Item) -> Entry {
        switch item {
        case .failure(let error):
            return Entry(path: error.path, error: error)
        case .skipped(let notice):
            return Entry(path: notice.path, error: notice, needsWrite: false, skipped: true)
        case .file(let path, let readPath):
            let id = FileWalker.articleID(of: path)
            if let problem = ArticleID.problem(with: id) {
                return Entry(path: path, error: ImportFileError(path: path, line: nil, reason: problem))
            }
            let bytes: [UInt8]
            switch FileWalker.read(path, readPath: readPath, limit: maxSourceLength) {
            case .success(let read): bytes = read
            case .failure(let error): return Entry(path: path, id: id, error: error)
            }
            do {
                let article = try SeedFormat.parse(bytes)
                guard ArticleDocument.canEncode(article) else {
                    return Entry(
                        path: path, id: id,
                        error: ImportFileError(path: path, line: nil, reason: "the title or category exceeds 65,535 bytes"))
                }
                return Entry(path: path, id: id, article: article, contentHash: StoreDigest.contentHash(of: bytes))
            } catch {
                return Entry(path: path, id: id, error: ImportFileError(path: path, line: error.line, reason: error.reason))
            }
        }
    }

    /// The content hash of each file's live article in the store (nil: none, or not a file), so
    /// that an idempotent re-import compresses nothing. The write re-checks under its transaction.
    private func storedHashes(of chunk: [FileWalker.Item]) throws -> [[UInt8]?] {
        let ids = chunk.map { item -> String? in
            guard case .file(let path, _) = item else { return nil }
            return FileWalker.articleID(of: path)
        }
        return try store.file.pool.read { db in
            let statement = try db.cachedStatement(sql: "SELECT content_hash FROM article WHERE id = ? AND deleted = 0")
            return try ids.map { id in
                guard let id else { return nil }
                return try Data.fetchOne(statement, arguments: [id]).map { [UInt8]($0) }
            }
        }
    }

    /// Hashed, encoded and compressed outside the write transaction; the text is let go, so a
    /// chunk waits for the writer holding only what its rows need.
    private static func prepare(_ entry: inout Entry, deflater: PresetDeflater?) {
        guard entry.needsWrite, let article = entry.article, let hash = entry.contentHash else { return }
        entry.prepared = PreparedArticle(article: article, contentHash: hash, deflater: deflater, keepsDocument: entry.replacesLiveArticle)
        entry.article = nil
    }

    /// Writes one chunk in one transaction.
    private func write(
        _ entries: [Entry], roots: [String], seenTable: String, deflater: PresetDeflater?, shared: SharedState
    ) throws -> ImportProgress {
        var counts = ImportReport()
        try store.file.pool.write { db in
            counts = ImportReport()
            var state = try MetaState.load(db)
            let remember = try db.cachedStatement(sql: "INSERT OR IGNORE INTO temp.\(seenTable) (id, path) VALUES (?, ?)")
            let firstPath = try db.cachedStatement(sql: "SELECT path FROM temp.\(seenTable) WHERE id = ?")
            for entry in entries {
                if entry.skipped, let notice = entry.error {
                    counts.skipped.append(notice)
                    continue
                }
                counts.files += 1
                if let id = entry.id {
                    try remember.execute(arguments: [id, entry.path])
                    if db.changesCount == 0 {
                        let earlier = try String.fetchOne(firstPath, arguments: [id]) ?? "another file"
                        counts.refused += 1
                        counts.errors.append(
                            ImportFileError(path: entry.path, line: nil, reason: "the id '\(id)' is already taken by \(earlier)"))
                        continue
                    }
                }
                guard let id = entry.id, let content = entry.content, let hash = entry.contentHash else {
                    counts.refused += 1
                    counts.errors.append(entry.error ?? ImportFileError(path: entry.path, line: nil, reason: "unreadable"))
                    continue
                }
                let existing = try ExistingRow.fetch(db, id: id)
                // Where it came from, for clients that lay their files out as imported; it travels
                // with the article's next revision.
                let recordPath = try db.cachedStatement(sql: "UPDATE article SET source_path = ? WHERE id = ? AND source_path IS NOT ?")
                let relative = Self.relativePath(entry.path, roots: roots)
                if let existing, !existing.deleted, existing.contentHash == hash {
                    try recordPath.execute(arguments: [relative, id, relative])
                    counts.unchanged += 1
                    continue
                }
                let prepared: PreparedArticle
                switch content {
                case .prepared(let ready): prepared = ready
                // Unchanged when the chunk was read, changed since: prepared here.
                case .article(let article): prepared = PreparedArticle(article: article, contentHash: hash, deflater: deflater)
                }
                _ = try store.canonicalPut(db, id: id, prepared: prepared, existing: existing, state: &state)
                try recordPath.execute(arguments: [relative, id, relative])
                if let existing, !existing.deleted { counts.updated += 1 } else { counts.added += 1 }
                if self.options.itemize {
                    let kind: ImportPlanItem.Kind = existing.map { !$0.deleted } ?? false ? .changed : .added
                    counts.items.append(ImportPlanItem(kind: kind, id: id, title: prepared.title, path: entry.path))
                }
            }
            try state.save(db)
        }
        return shared.report.withLock { report in
            report.files += counts.files
            report.added += counts.added
            report.updated += counts.updated
            report.unchanged += counts.unchanged
            report.refused += counts.refused
            report.errors += counts.errors
            report.skipped += counts.skipped
            report.items += counts.items
            return report.progress
        }
    }

    /// `path` relative to the root it was found under (a file given itself: its name); nil when it
    /// is longer than a BATCH can carry (PROTOCOL.md §5.4).
    static func relativePath(_ path: String, roots: [String]) -> String? {
        var relative = (path as NSString).lastPathComponent
        for root in roots {
            let prefix = root.hasSuffix("/") ? root : root + "/"
            // As bytes: String's prefix test would match a canonically equivalent spelling.
            if path.utf8.starts(with: prefix.utf8) {
                relative = String(decoding: path.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                break
            }
        }
        return (1...4_096).contains(relative.utf8.count) ? relative : nil
    }

    /// The mass-deletion guard of `--delete-missing`, before anything is imported: a walk of the
    /// names alone (no file is read) tells which live articles the import would delete. A walk
    /// that finds no file at all (a mistyped path, an unmounted share) or that would delete more
    /// than `maxDeleteFraction` of the store's articles is refused; nothing is imported or deleted.
    /// A walk that could not read everything is not judged here: it deletes nothing anyway.
    private func checkDeletionGuard(paths: [String]) throws {
        let scanTable = "import_scan_\(UInt32.random(in: 0...UInt32.max))"
        try store.file.pool.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TEMP TABLE \(scanTable) (id TEXT PRIMARY KEY)")
        }
        defer {
            try? store.file.pool.writeWithoutTransaction { db in try db.execute(sql: "DROP TABLE IF EXISTS temp.\(scanTable)") }
        }
        var walker = FileWalker(roots: paths)
        var files = 0
        var ids: [String] = []
        func flush() throws {
            let pending = ids
            ids.removeAll(keepingCapacity: true)
            try store.file.pool.write { db in
                let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO temp.\(scanTable) (id) VALUES (?)")
                for id in pending { try insert.execute(arguments: [id]) }
            }
        }
        while let item = walker.next() {
            guard case .file(let path, _) = item else { continue }
            files += 1
            ids.append(FileWalker.articleID(of: path))
            if ids.count >= 10_000 { try flush() }
        }
        try flush()
        guard walker.sawEverything else { return }
        // On the writer: a temp table lives on the connection that made it.
        let (live, gone, first) = try store.file.pool.writeWithoutTransaction { db -> (UInt64, Int, [String]) in
            let live = try MetaState.load(db).liveCount
            let missing = "FROM article WHERE deleted = 0 AND id NOT IN (SELECT id FROM temp.\(scanTable))"
            let gone = try Int.fetchOne(db, sql: "SELECT count(*) " + missing) ?? 0
            let first = try String.fetchAll(db, sql: "SELECT id " + missing + " ORDER BY id LIMIT 10")
            return (live, gone, first)
        }
        if files == 0 && live > 0 {
            throw ImportRefusal(
                "found no files in \(paths.joined(separator: ", ")), so --delete-missing would delete all \(live) articles of the store "
                    + "(a mistyped path or an unmounted share looks like this); nothing was imported or deleted. Re-run with --force to delete them")
        }
        try refuseMassDeletion(gone: gone, live: live, first: first, imported: false)
    }

    private func refuseMassDeletion(gone: Int, live: UInt64, first: [String], imported: Bool) throws {
        guard gone > options.deletionLimit(of: live) else { return }
        let percent = live == 0 ? 0 : Int((Double(gone) * 100 / Double(live)).rounded())
        let names = first.joined(separator: ", ") + (gone > first.count ? " and \(gone - first.count) more" : "")
        throw ImportRefusal(
            "--delete-missing would delete \(gone) of the store's \(live) articles (\(percent)%, more than the "
                + "\(Int((options.maxDeleteFraction * 100).rounded()))% limit): \(names); "
                + (imported ? "the files were imported, no article was deleted. " : "nothing was imported or deleted. ")
                + "Re-run with --force to accept, or --max-delete-percent to raise the limit")
    }

    /// Tombstones every live article whose id no file of this run had, in one transaction (after
    /// the guard once more: the folder may have changed since the walk before the import).
    private func deleteMissing(seenTable: String, shared: SharedState) throws {
        let deleted = try store.file.pool.write { db in
            var state = try MetaState.load(db)
            let gone = try String.fetchAll(
                db, sql: "SELECT id FROM article WHERE deleted = 0 AND id NOT IN (SELECT id FROM temp.\(seenTable)) ORDER BY id")
            if !self.options.force {
                try self.refuseMassDeletion(gone: gone.count, live: state.liveCount, first: Array(gone.prefix(10)), imported: true)
            }
            for id in gone {
                guard let existing = try ExistingRow.fetch(db, id: id) else { continue }
                _ = try store.canonicalDelete(db, id: id, existing: existing, state: &state)
            }
            try state.save(db)
            return gone
        }
        shared.report.withLock { report in
            report.deleted = deleted.count
            if self.options.itemize { report.items += deleted.map { ImportPlanItem(kind: .deleted, id: $0, title: nil, path: nil) } }
        }
    }
}
