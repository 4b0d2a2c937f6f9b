import Foundation
import GRDB
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Building a reading replica's full-text index in bulk. FTS5 tokenizes and sorts every word of
/// every article on the connection that inserts it, most of a bootstrap's CPU, and one file has one
/// writer: so the replica's writer indexes the lower half of the rows while a second connection
/// indexes the upper half into a scratch file beside the replica (`<replica>.fts-build`), each in
/// one statement (FTS5 writes a segment at every statement's savepoint, so statements per range
/// would sort and merge the common words' terms over and over); each merges its own part, the
/// scratch index's two-segment whole then moves into the replica's (`FullTextIndexMerge`) and the
/// usual finish (`buildFullTextIndex`) follows.
///
/// Kill safety: until the moved segments and the flag that says so (fed: "every article is in")
/// commit together, the replica stays pending and the next build starts over; the scratch file is
/// only ever read by the build that wrote it (an exclusive `flock` on it; a second build meanwhile
/// takes the one-connection way). A pull that commits between the two steps changes the fingerprint
/// checked before the move, and the move is abandoned for a rebuild on one connection.
extension ReplicaStore {
    /// Live rows from which a rebuild is shared by two connections: below, the second connection's
    /// set-up and the move cost more than its half saves.
    static let twoConnectionBuildRows = 5_000

    /// What a build on two connections must find unchanged before it moves its scratch segments in.
    struct IndexBuildFingerprint: Equatable {
        var cursor: UInt64
        var digest: [UInt8]
        var liveCount: UInt64
        var lastRowID: Int64

        static func read(_ db: Database) throws -> IndexBuildFingerprint {
            let state = try MetaState.load(db)
            return IndexBuildFingerprint(
                cursor: state.cursor, digest: state.digest.bytes, liveCount: state.liveCount,
                lastRowID: try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM main.article") ?? 0)
        }
    }

    var indexBuildScratchPath: String { file.path + ".fts-build" }

    /// Rebuilds a pending index on two connections and marks it fed (complete, to be merged), or
    /// leaves it pending for the one-connection rebuild: when another build holds the scratch file,
    /// when there are fewer than `minimumRows` live rows, or when the move is refused. Returns
    /// whether it moved a scratch index in. `indexSide` runs the second connection's half (tests
    /// make it fail).
    @discardableResult
    func rebuildOnTwoConnections(
        minimumRows: Int = twoConnectionBuildRows,
        indexSide: @escaping @Sendable (SideIndexer, _ split: Int64, IndexProgress) throws -> Int = { try $0.index(from: $1, progress: $2) },
        progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void
    ) async throws -> Bool {
        let scratch = indexBuildScratchPath
        guard let claim = ScratchClaim(path: scratch) else { return false }
        defer { claim.release() }
        let documentText = file.documentText
        let mainPath = file.path
        let built = try await file.pool.writeWithoutTransaction { db -> (IndexBuildFingerprint, Int)? in
            var outcome: (IndexBuildFingerprint, Int)? = nil
            try db.inTransaction(.immediate) {
                guard try StoreFile.isFullTextIndexPending(db), try !StoreFile.isFullTextIndexFed(db) else { return .commit }
                let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM article WHERE deleted = 0") ?? 0
                guard total >= max(2, minimumRows),
                    let split = try Int64.fetchOne(
                        db, sql: "SELECT rowid FROM article WHERE deleted = 0 ORDER BY rowid LIMIT 1 OFFSET ?", arguments: [total / 2])
                else { return .commit }
                let fingerprint = try IndexBuildFingerprint.read(db)
                try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('delete-all')")
                let hashSize = Self.twoConnectionHashSize(rows: total)
                try Self.configureForBulkBuild(db, hashSize: hashSize)
                let rows = IndexProgress(total: total, report: progress)
                progress(0, total)

                let side = SideIndexer(scratch: scratch, source: mainPath, documentText: documentText, hashSize: hashSize)
                let sideResult = SideResult()
                let thread = Thread {
                    sideResult.finish(Result { try indexSide(side, split, rows) })
                }
                thread.start()
                var mainError: (any Error)? = nil
                do {
                    try rows.counting(on: db) {
                        try db.execute(sql: Self.indexRangeSQL(schema: "main", rows: .small), arguments: [Int64.min, split])
                    }
                    // The large articles (a few at most) are the writer's alone, so that two of them are
                    // never in memory at once. Each connection merges its own part while the other may
                    // still be indexing, so the moved index is two segments and needs no merge of its own.
                    try rows.counting(on: db) {
                        try db.execute(sql: Self.indexRangeSQL(schema: "main", rows: .large), arguments: [Int64.min, Int64.max])
                    }
                    try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('optimize')")
                } catch {
                    mainError = error
                    rows.stop()
                }
                let sideOutcome = sideResult.wait()
                if let mainError { throw mainError }
                switch sideOutcome {
                case .success(let sideRows):
                    outcome = (fingerprint, sideRows)
                case .failure:
                    // The scratch index is unusable: index the side's half here instead (its small
                    // articles; the large ones are in already). What it counted is lost with it.
                    rows.restart(from: try Int.fetchOne(db, sql: "SELECT count(*) FROM article_fts_docsize") ?? 0)
                    try rows.counting(on: db) {
                        try db.execute(sql: Self.indexRangeSQL(schema: "main", rows: .small), arguments: [split, Int64.max])
                    }
                    try StoreFile.setFullTextIndexPending(db, false)
                    try StoreFile.setFullTextIndexFed(db, true)
                }
                progress(total, total)
                return .commit
            }
            return outcome
        }
        guard let (fingerprint, sideRows) = built else { return false }
        return try Self.moveScratchIndex(into: mainPath, from: scratch, fingerprint: fingerprint, rows: sideRows)
    }

    /// Moves the scratch index's segments into the replica's in one transaction with the flags, on
    /// a connection of its own: FTS5 keeps what it last read of an index per connection, and only a
    /// commit by another connection tells the replica's own connections to read it again.
    private static func moveScratchIndex(into path: String, from scratch: String, fingerprint: IndexBuildFingerprint, rows: Int) throws -> Bool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.inDatabase { db in
            try db.execute(sql: "ATTACH DATABASE ? AS scratch", arguments: [scratch])
            defer { try? db.execute(sql: "DETACH DATABASE scratch") }
            var moved = false
            try db.inTransaction(.immediate) {
                guard try StoreFile.isFullTextIndexPending(db), try !StoreFile.isFullTextIndexFed(db),
                    try IndexBuildFingerprint.read(db) == fingerprint,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM scratch.article_fts_docsize") == rows
                else { return .commit }
                guard try FullTextIndexMerge.merge(db, from: "scratch") else { return .rollback }
                try StoreFile.setFullTextIndexPending(db, false)
                try StoreFile.setFullTextIndexFed(db, true)
                moved = true
                return .commit
            }
            return moved
        }
    }

    /// The articles one statement of a build indexes, by size.
    enum IndexedRows {
        case small, large, all
    }

    /// Above this many bytes of document (or text in clear) an article is large: indexed by the
    /// writer alone during a build on two connections.
    static let largeArticleBytes = 256 << 10

    /// Indexes the live rows with rowids in [?, ?) of `schema`'s articles into the connection's
    /// own `article_fts`, in one statement.
    static func indexRangeSQL(schema: String, rows: IndexedRows) -> String {
        let size = "coalesce(a.document_length, length(CAST(a.body AS BLOB)), 0)"
        let filter: String
        switch rows {
        case .small: filter = " AND \(size) <= \(largeArticleBytes)"
        case .large: filter = " AND \(size) > \(largeArticleBytes)"
        case .all: filter = ""
        }
        // In rowid order: FTS5 writes out what it has collected whenever a rowid is lower than the
        // last one. `index_build_row` (`IndexProgress`) counts each row.
        return """
            INSERT INTO main.article_fts(rowid, title, body)
            SELECT a.rowid, a.title, \(StoreFile.indexedBody("a.")) FROM \(schema).article a
            WHERE a.rowid >= ? AND a.rowid < ? AND a.deleted = 0\(filter) AND index_build_row()
            ORDER BY a.rowid
            """
    }

    /// FTS5 collects the entries of the rows it is given in memory (up to `hashsize` bytes), then
    /// sorts and writes them as a segment: a larger hash sorts and writes fewer, larger segments,
    /// less CPU per article for a few MB per connection (bounded: the client's peak memory is a
    /// goal). No incremental merging either: one merge at the end. `buildFullTextIndex` sets both
    /// back.
    static func configureForBulkBuild(_ db: Database, hashSize: Int) throws {
        try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('automerge', 0)")
        try db.execute(sql: "INSERT INTO article_fts(article_fts, rank) VALUES ('hashsize', \(hashSize))")
    }

    /// FTS5's default `hashsize`, right for the few rows of an incremental pull.
    static let ftsHashSize = 1 << 20

    /// The bulk build's `hashsize`: each segment FTS5 writes repeats the common words' terms, so
    /// fewer, larger segments mean less to sort, write and merge, for a few MB held while building.
    static let bulkBuildHashSize = 4 << 20

    /// Each connection's hash in a smaller build on two: two are held at once, on top of what a
    /// download leaves, and the client's peak memory is a goal; below `largeBuildRows` the larger
    /// hash raised the peak and saved no time. From there the segments of smaller hashes are
    /// merged over more levels, which costs more time than the MB it spares.
    static let smallTwoConnectionHashSize = 3 << 20

    static func twoConnectionHashSize(rows: Int) -> Int {
        rows >= largeBuildRows ? bulkBuildHashSize : smallTwoConnectionHashSize
    }

    /// Twice the hash for a large build, where it pays: FTS5 merges every 16 segments of a level
    /// into the next, so the segments of hundreds of thousands of articles are rewritten over and
    /// over (three levels at a million); half as many segments spare much of that. Below, the
    /// levels are few and the larger hash would only raise the client's peak memory.
    static let largeBuildHashSize = 8 << 20

    /// Rows from which a rebuild takes `largeBuildHashSize`.
    static let largeBuildRows = 250_000

    static func rebuildHashSize(rows: Int) -> Int {
        rows >= largeBuildRows ? largeBuildHashSize : bulkBuildHashSize
    }

    /// Rebuilds the whole index on the writer, in the caller's transaction, in one statement: FTS5
    /// writes out what it has collected at every statement's savepoint, so a statement per range
    /// of rows would write a segment per range however large the hash, each sorted and later merged
    /// again; one statement writes one only when the hash is full. Progress comes from a function
    /// the statement calls per row.
    static func rebuildFullTextIndex(_ db: Database, total: Int, progress: @Sendable (_ done: Int, _ total: Int) -> Void) throws {
        // Whatever an earlier index held is stale: start empty.
        try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('delete-all')")
        try configureForBulkBuild(db, hashSize: rebuildHashSize(rows: total))
        progress(0, total)
        try withoutActuallyEscaping(progress) { progress in
            let rows = IndexProgress(total: total, report: progress)
            try rows.counting(on: db) {
                try db.execute(sql: indexRangeSQL(schema: "main", rows: .all), arguments: [Int64.min, Int64.max])
            }
        }
        progress(total, total)
    }

    /// Rows between two progress reports of a rebuild.
    static let indexProgressStep = 1000
}

/// The second connection of a build: indexes the rows from `split` up into the scratch file,
/// reading them from the replica (attached; the replica's writer holds its write transaction, so
/// nothing commits meanwhile).
struct SideIndexer: Sendable {
    let scratch: String
    let source: String
    let documentText: StoredDocumentText
    /// The FTS5 `hashsize` of its half, as the writer's.
    let hashSize: Int

    /// SQLite's page cache per file, in KiB.
    static let cacheKiB = 256

    /// Returns how many rows it indexed.
    func index(from split: Int64, progress: IndexProgress) throws -> Int {
        var configuration = Configuration()
        let function = documentText.function
        configuration.prepareDatabase { db in
            // Scratch: a crash leaves a file the next build truncates.
            try db.execute(sql: "PRAGMA journal_mode = OFF")
            try db.execute(sql: "PRAGMA synchronous = OFF")
            db.add(tokenizer: GermanFoldingTokenizer.self)
            db.add(function: function)
        }
        let queue = try DatabaseQueue(path: scratch, configuration: configuration)
        defer { try? queue.close() }
        return try queue.inDatabase { db in
            try db.execute(sql: "ATTACH DATABASE ? AS replica", arguments: [source])
            defer { try? db.execute(sql: "DETACH DATABASE replica") }
            // It reads the replica once through and appends to the scratch file: the kernel's page
            // cache serves both as well, and the client's peak memory is a goal.
            try db.execute(sql: "PRAGMA main.cache_size = -\(Self.cacheKiB)")
            try db.execute(sql: "PRAGMA replica.cache_size = -\(Self.cacheKiB)")
            try db.execute(sql: StoreFile.fullTextIndexDefinition)
            try ReplicaStore.configureForBulkBuild(db, hashSize: hashSize)
            var rows = 0
            // Deferred: an immediate transaction would claim the attached replica's write lock too.
            try db.inTransaction(.deferred) {
                try progress.counting(on: db) {
                    try db.execute(sql: ReplicaStore.indexRangeSQL(schema: "replica", rows: .small), arguments: [split, Int64.max])
                }
                rows = db.changesCount
                try db.execute(sql: "INSERT INTO article_fts(article_fts) VALUES ('optimize')")
                return .commit
            }
            return rows
        }
    }
}

/// Rows indexed by the connections of a build, counted by the SQL function `index_build_row` that
/// each statement calls per row; reports every `ReplicaStore.indexProgressStep` rows, one report at
/// a time and in order. `stop()` makes every statement still counting fail.
final class IndexProgress: Sendable {
    private struct State {
        var done = 0
        var stopped = false
    }

    let total: Int
    private let report: @Sendable (_ done: Int, _ total: Int) -> Void
    private let state = Mutex(State())

    init(total: Int, report: @escaping @Sendable (_ done: Int, _ total: Int) -> Void) {
        self.total = total
        self.report = report
    }

    struct Stopped: Error, CustomStringConvertible {
        var description: String { "the index build stopped" }
    }

    func stop() { state.withLock { $0.stopped = true } }

    /// Counts from `done` again (and reports it): the rows a failed connection had counted are to
    /// be indexed over.
    func restart(from done: Int) {
        state.withLock { state in
            state.done = done
            report(min(done, total), total)
        }
    }

    /// Runs `body` with `index_build_row` registered on `db`.
    func counting<T>(on db: Database, _ body: () throws -> T) throws -> T {
        let tick = DatabaseFunction("index_build_row", argumentCount: 0, pure: false) { [self] _ in
            try state.withLock { state in
                guard !state.stopped else { throw Stopped() }
                state.done += 1
                if state.done % ReplicaStore.indexProgressStep == 0 { report(min(state.done, total), total) }
            }
            return true
        }
        db.add(function: tick)
        defer { db.remove(function: tick) }
        return try body()
    }
}

/// The side connection's outcome, handed to the writer that waits for it.
final class SideResult: Sendable {
    private let result = Mutex<Result<Int, any Error>?>(nil)
    private let finished = DispatchSemaphore(value: 0)

    func finish(_ outcome: Result<Int, any Error>) {
        result.withLock { $0 = outcome }
        finished.signal()
    }

    func wait() -> Result<Int, any Error> {
        finished.wait()
        return result.withLock { $0! }
    }
}

/// An exclusive claim on the scratch file of an index build (`flock`), which starts it empty.
/// Nil when another build holds it.
final class ScratchClaim {
    private let path: String
    private var descriptor: Int32

    init?(path: String) {
        self.path = path
        descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0, ftruncate(descriptor, 0) == 0 else {
            close(descriptor)
            return nil
        }
    }

    /// Removes the scratch file, then gives up the claim.
    func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
