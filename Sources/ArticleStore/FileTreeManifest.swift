import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a plain-file tree records of itself, in `DIR/.articlesync-tree` (SQLite): the replica
/// revision it is exact at, the store that revision belongs to, its layout, and every file it
/// wrote. Only files listed here are ever removed or moved, so a user's own files in the tree are
/// never touched.
///
/// A file is listed before it is written (with no hash: "may exist, content unknown") and gets its
/// hash once it has been renamed into place; the revision moves only after every file of a pass is
/// in place. A run killed at any point leaves at worst listed files whose hash is unknown, which
/// the next run writes again or removes.
public final class FileTreeManifest: Sendable {
    public static let fileName = ".articlesync-tree"
    /// Names in the tree's root that belong to the tree itself (the manifest, its journal, the
    /// temporary folder): never an article's file.
    public static let reservedPrefix = ".articlesync-tree"

    public struct State: Sendable, Hashable {
        public var revision: UInt64
        public var upstream: [UInt8]?
        public var layout: String

        public init(revision: UInt64, upstream: [UInt8]?, layout: String) {
            self.revision = revision
            self.upstream = upstream
            self.layout = layout
        }
    }

    public struct Entry: Sendable, Hashable {
        /// Relative to the tree's root.
        public var path: String
        public var id: String
        /// SHA-256 of the file's bytes as written; nil while it may not be (fully) there.
        public var hash: [UInt8]?

        public init(path: String, id: String, hash: [UInt8]?) {
            self.path = path
            self.id = id
            self.hash = hash
        }
    }

    let queue: DatabaseQueue
    let lockDescriptor: Int32

    /// Opens the manifest of the tree at `directory`, creating it unless `readOnly`; nil when it
    /// does not exist and `readOnly`. Holds the tree's lock (a second writer is refused by name).
    public static func open(directory: String, readOnly: Bool) throws -> FileTreeManifest? {
        let path = directory + "/" + fileName
        if readOnly && !FileManager.default.fileExists(atPath: path) { return nil }
        return try FileTreeManifest(path: path, readOnly: readOnly)
    }

    private init(path: String, readOnly: Bool) throws {
        var descriptor: Int32 = -1
        if !readOnly {
            // flock(2) on the manifest itself: independent of SQLite's own (fcntl) locks on Linux,
            // and released by the kernel when a killed writer's descriptors close.
            descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw StoreError("cannot create \(path): \(String(cString: strerror(errno)))") }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                Glibc.close(descriptor)
                throw StoreError("another articlesync is writing this file tree (it holds \(path)); try again when it is done")
            }
        }
        lockDescriptor = descriptor
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL with NORMAL: a commit survives the process being killed (what the tree's crash
            // safety rests on) without an fsync per commit; a power cut may lose the last commits,
            // which only sends the next pass back to an older revision (`FileTree.flush` closes
            // the rest of that gap).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            if !readOnly {
                try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
                try Self.migrator().migrate(queue)
            }
        } catch {
            if descriptor >= 0 { Glibc.close(descriptor) }
            throw StoreError("cannot open the file tree's manifest \(path): \(error)")
        }
    }

    deinit {
        if lockDescriptor >= 0 { Glibc.close(lockDescriptor) }
    }

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tree_meta (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        revision INTEGER NOT NULL,
                        upstream BLOB,
                        layout TEXT NOT NULL
                    );
                    CREATE TABLE file (
                        path TEXT PRIMARY KEY,
                        id TEXT NOT NULL,
                        hash BLOB
                    ) WITHOUT ROWID;
                    CREATE INDEX file_id ON file(id);
                    """)
        }
        return migrator
    }

    /// The recorded state; nil for a tree that never finished a pass.
    public func state() throws -> State? {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT revision, upstream, layout FROM tree_meta") else { return nil }
            return State(
                revision: UInt64(clamping: row[0] as Int64), upstream: (row[1] as Data?).map { [UInt8]($0) }, layout: row[2])
        }
    }

    /// The files listed for each of `ids`.
    public func entries(ids: [String]) throws -> [[UInt8]: [Entry]] {
        try queue.read { db in
            let statement = try db.cachedStatement(sql: "SELECT path, id, hash FROM file WHERE id = ?")
            var found: [[UInt8]: [Entry]] = [:]
            for id in ids {
                let rows = try Row.fetchAll(statement, arguments: [id]).map(Self.entry)
                if !rows.isEmpty { found[Array(id.utf8)] = rows }
            }
            return found
        }
    }

    /// How many distinct ids have files listed.
    public func idCount() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(DISTINCT id) FROM file") ?? 0 }
    }

    /// Calls `body` with every id that has files listed, in byte order, one at a time.
    public func forEachID(_ body: (String) throws -> Void) throws {
        try queue.read { db in
            let ids = try String.fetchCursor(db, sql: "SELECT DISTINCT id FROM file ORDER BY id")
            while let id = try ids.next() { try body(id) }
        }
    }

    /// The files listed for the ids in `ids`, looked up in one pass.
    public func entries(forSortedIDs ids: [String]) throws -> [Entry] {
        try queue.read { db in
            let statement = try db.cachedStatement(sql: "SELECT path, id, hash FROM file WHERE id = ?")
            return try ids.flatMap { try Row.fetchAll(statement, arguments: [$0]).map(Self.entry) }
        }
    }

    private static func entry(_ row: Row) -> Entry {
        Entry(path: row[0], id: row[1], hash: (row[2] as Data?).map { [UInt8]($0) })
    }

    /// Lists files about to be written or moved into place, content unknown, before they are.
    public func listPending(_ files: [(path: String, id: String)]) throws {
        guard !files.isEmpty else { return }
        try queue.inTransaction { db in
            let statement = try db.cachedStatement(
                sql: "INSERT INTO file (path, id, hash) VALUES (?, ?, NULL) ON CONFLICT(path) DO UPDATE SET id = excluded.id, hash = NULL")
            for file in files { try statement.execute(arguments: [file.path, file.id]) }
            return .commit
        }
    }

    /// Records files now in place (with their hash) and files removed, and, when given, the state
    /// the tree is now exact at, in one transaction.
    public func record(placed: [Entry], removed: [String], state: State?) throws {
        try queue.inTransaction { db in
            let place = try db.cachedStatement(
                sql: "INSERT INTO file (path, id, hash) VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE SET id = excluded.id, hash = excluded.hash")
            for entry in placed { try place.execute(arguments: [entry.path, entry.id, entry.hash.map { Data($0) }]) }
            let remove = try db.cachedStatement(sql: "DELETE FROM file WHERE path = ?")
            for path in removed { try remove.execute(arguments: [path]) }
            if let state {
                try db.execute(
                    sql: """
                        INSERT INTO tree_meta (singleton, revision, upstream, layout) VALUES (1, ?, ?, ?)
                        ON CONFLICT(singleton) DO UPDATE SET revision = excluded.revision, upstream = excluded.upstream, layout = excluded.layout
                        """,
                    arguments: [Int64(clamping: state.revision), state.upstream.map { Data($0) }, state.layout])
            }
            return .commit
        }
    }
}
