import ArticleModel
import ArticleStore
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct ExportReport: Sendable, Hashable {
    public var written = 0
    public var unchanged = 0
    public var total = 0
    /// Articles (or files of a tree) the export could not handle; it went on with the others.
    public var failures: [ExportFailure] = []
}

public struct ExportFailure: Sendable, Hashable {
    /// The article, or nil for a file of the tree that could not be moved or removed.
    public var id: String?
    /// The file, relative to the export directory.
    public var file: String
    public var reason: String
}

/// Writes every kept deleted article (`pull --keep-deleted`) as a file holding its exact source
/// (byte-identical to what the server imported): a plain folder that `articlesyncd import` restores.
/// The live articles' plain-file tree is `FileTree`'s.
///
/// Each article's bytes are hashed as they are written: one whose bytes no longer match its content
/// hash (a damaged replica) is refused and named, never exported as if it were the article. Nothing
/// stops the export part-way: an article that cannot be written is reported and the others go on
/// (the command exits non-zero at the end). It never removes a file: the folder keeps no record of
/// what it wrote, so it cannot tell its own files from the user's (`FileTree` keeps one, and may).
public struct Exporter: Sendable {
    public var replicaPath: String
    public var directory: String

    public init(replicaPath: String, directory: String) {
        self.replicaPath = replicaPath
        self.directory = directory
    }

    /// Where long ids go (see `fileName(for:)`): no article file can be named so (they all end in .txt).
    public static let longIDDirectory = "long-ids"
    /// A file name holds at most 255 bytes (NAME_MAX), and ".txt" takes 4.
    static let maxShortID = 255 - 4
    static let longPrefixBytes = 255 - 4 - 1 - 64

    /// The file of an article, relative to the export directory: `<id>.txt` for ids of up to 251
    /// bytes; for the longer ones (252-255 bytes are valid ids, §7.1, but `<id>.txt` would exceed
    /// the 255 bytes a file name may have) `long-ids/<first bytes of the id>~<SHA-256 of the id, 64 hex>.txt`,
    /// the prefix cut to 186 bytes at a character boundary so the name is 255 bytes at most. The
    /// name depends on the id alone (deterministic) and no two ids share one: short ids differ in
    /// their bytes, long ones in their hash, and the two kinds live in different directories. Such
    /// a file cannot be imported back under its own id (no file name can hold it).
    public static func fileName(for id: String) -> String {
        let bytes = Array(id.utf8)
        if bytes.count <= maxShortID { return id + ".txt" }
        var cut = min(bytes.count, longPrefixBytes)
        while cut > 0 && bytes[cut] & 0xC0 == 0x80 { cut -= 1 }  // not inside a character
        let hash = hexString(SHA256.hash(data: bytes))
        return longIDDirectory + "/" + String(decoding: bytes[..<cut], as: UTF8.self) + "~" + hash + ".txt"
    }

    public func export(progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> ExportReport {
        let store = try Replica.openExisting(at: replicaPath)
        defer { try? store.close() }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ClientError(.ioError, "cannot create \(directory): \(error.localizedDescription)")
        }
        var report = ExportReport()
        let total: Int
        do {
            total = try await store.keptCount()
        } catch {
            throw ClientError.replica(replicaPath, "cannot list its articles: \(error)")
        }
        report.total = total
        var done = 0
        let directory = self.directory
        let write: ([ScannedArticle]) throws -> Void = { chunk in
            for article in chunk {
                done += 1
                defer { progress(done, total) }
                let name = Self.fileName(for: article.id)
                guard let source = article.source, article.actualHash == article.contentHash else {
                    report.failures.append(ExportFailure(
                        id: article.id, file: name,
                        reason: "not exported: \(article.problem ?? "its text does not match its content hash")"))
                    continue
                }
                let path = directory + "/" + name
                // Unchanged files are left alone: their mtime stays, and rsync/backup tools see no change.
                if PlainFile.read(path) == source {
                    report.unchanged += 1
                    continue
                }
                do {
                    if name.hasPrefix(Self.longIDDirectory + "/") { try PlainFile.makeDirectory(directory + "/" + Self.longIDDirectory) }
                    try PlainFile.writeAtomically(source, to: path)
                    report.written += 1
                } catch {
                    report.failures.append(ExportFailure(id: article.id, file: name, reason: "cannot be written: \(error)"))
                }
            }
        }
        do {
            try await store.scanKeptArticles(write)
        } catch {
            throw ClientError.replica(replicaPath, "cannot be read: \(error)")
        }
        return report
    }
}

/// Files by their exact bytes, through POSIX: Foundation's path handling is not needed here, and
/// names are compared and removed as the bytes the directory holds.
enum PlainFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func lastError() -> String { String(cString: strerror(errno)) }

    /// The whole file, or nil when it is missing or unreadable.
    static func read(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            filled += count
        }
        return bytes
    }

    /// Writes a hidden temporary file beside `path`, then renames it over `path`: a reader (or a
    /// backup run) never sees half a file.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")).map { path.utf8.index(after: $0) } ?? path.utf8.startIndex
        let folder = String(path[..<slash])
        let temporary = folder + ".export-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(description: lastError()) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = lastError()
                close(descriptor)
                unlink(temporary)
                throw Failure(description: reason)
            }
            written += count
        }
        guard close(descriptor) == 0 else {
            let reason = lastError()
            unlink(temporary)
            throw Failure(description: reason)
        }
        guard rename(temporary, path) == 0 else {
            let reason = lastError()
            unlink(temporary)
            throw Failure(description: reason)
        }
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw Failure(description: lastError()) }
    }

    /// The entries of a directory as the bytes of their names (empty when it cannot be read).
    static func names(in directory: String) -> [[UInt8]] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [UInt8(ascii: ".")] && name != [UInt8(ascii: "."), UInt8(ascii: ".")] { names.append(name) }
        }
        return names
    }

    static func isRegularFile(_ path: [UInt8]) -> Bool {
        var info = stat()
        return (path + [0]).withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &info) == 0 }
        } && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Removes the file; nil on success, else why not.
    static func remove(_ path: [UInt8]) -> String? {
        let failed = (path + [0]).withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { unlink($0.baseAddress!) != 0 }
        }
        return failed ? lastError() : nil
    }
}
