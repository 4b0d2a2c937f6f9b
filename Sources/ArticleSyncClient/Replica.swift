import ArticleStore
import ArticleSyncProtocol
import Foundation

/// Where replicas live and how they are opened, created and swapped.
public enum Replica {
    /// `$XDG_DATA_HOME/articlesync/replica.sqlite`, else `~/.local/share/articlesync/replica.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return data + "/articlesync/replica.sqlite"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/share/articlesync/replica.sqlite"
    }

    public static func exists(at path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// Opens the replica at `path`, creating it (and its directory) when missing. `fullTextIndex`
    /// nil keeps an existing replica's kind (a new one gets the index): the store builds or drops
    /// the index to match the role it is opened with, which a reading command must never cause.
    ///
    /// A new replica is readable by its owner only (0600, ReplicaStore), and so is every directory
    /// created for it (0700): it is the whole archive, which the server guards with tokens.
    public static func open(at path: String, fullTextIndex: Bool?) throws -> ReplicaStore {
        let fullTextIndex = try fullTextIndex ?? (exists(at: path) ? hasFullTextIndex(at: path) : true)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try createPrivateDirectory(directory, for: path)
        }
        do {
            return try ReplicaStore(path: path, fullTextIndex: fullTextIndex)
        } catch {
            throw ClientError.replica(path, "cannot open: \(error)")
        }
    }

    /// Creates `directory` and its missing parents with mode 0700 (less the umask); existing ones
    /// are left as they are.
    static func createPrivateDirectory(_ directory: String, for path: String) throws {
        var missing: [String] = []
        var current = directory
        while !current.isEmpty && current != "/" && !FileManager.default.fileExists(atPath: current) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for created in missing.reversed() {
            guard mkdir(created, 0o700) == 0 || errno == EEXIST else {
                throw ClientError.replica(path, "cannot create its directory \(created): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Opens an existing replica for reading commands; a missing one is a clear error, not a new file.
    public static func openExisting(at path: String) throws -> ReplicaStore {
        guard exists(at: path) else {
            throw ClientError(.failure, "no replica at \(path): run `articlesync pull` first (or pass --replica PATH)")
        }
        // An empty file would be given a replica's empty tables and read as a replica with no article.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw ClientError(.failure, "\(path) is an empty file, not a replica: `articlesync pull --replica \(path)` makes one")
        }
        return try open(at: path, fullTextIndex: nil)
    }

    /// Moves every commit from the WAL into the database file and removes the WAL.
    static func checkpoint(_ path: String) throws {
        do {
            try ReplicaStore.checkpoint(at: path)
        } catch {
            throw ClientError.replica(path, "\(error)")
        }
    }

    /// Whether the replica at `path` keeps the full-text index (a reading replica) or not (a mirror).
    public static func hasFullTextIndex(at path: String) throws -> Bool {
        do {
            return try ReplicaStore.hasFullTextIndex(at: path)
        } catch {
            throw ClientError.replica(path, "\(error)")
        }
    }

    /// The file a re-bootstrap builds beside the replica (same directory, so the swap is a rename).
    static func bootstrapPath(for path: String) -> String { path + ".bootstrap" }

    static func sidecars(of path: String) -> [String] { [path + "-wal", path + "-shm", path + "-journal"] }

    static func remove(_ path: String) {
        for file in [path] + sidecars(of: path) { try? FileManager.default.removeItem(atPath: file) }
    }

    /// Replaces the replica at `path` with the closed database at `replacement`, with one rename.
    ///
    /// A closed store can still have its recent commits in its WAL (the connection that closes last
    /// is a read-only reader, which may not checkpoint), and a WAL belongs to its file by name. So
    /// both files are first checkpointed into their main file by a lone writable connection, which
    /// also removes the WAL; only then is the old WAL space cleared and the new file renamed in.
    /// Killed at any point, either the old or the new replica is complete under `path`.
    static func swap(_ replacement: String, into path: String) throws {
        try checkpoint(replacement)
        try checkpoint(path)
        for sidecar in sidecars(of: replacement) + sidecars(of: path) { try? FileManager.default.removeItem(atPath: sidecar) }
        guard rename(replacement, path) == 0 else {
            throw ClientError.replica(path, "cannot replace it with the re-bootstrapped copy: \(String(cString: strerror(errno)))")
        }
    }
}
