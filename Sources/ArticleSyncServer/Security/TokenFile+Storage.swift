#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What identifies one version of a file on disk: a rename gives another inode, an edit in place
/// another size or modification time.
public struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int64(info.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        #endif
    }

    /// The identity of the file at `path` now, or nil when there is none.
    public static func of(path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(info)
    }
}

extension TokenFile {
    /// Permission bits of every token file this program writes: hashes are not secrets, but whoever can
    /// change the file can grant themselves access.
    public static let fileMode: mode_t = 0o600

    /// A loaded token file with the identity of the bytes it was read from.
    public struct Snapshot: Sendable {
        public var file: TokenFile
        public var identity: FileIdentity
        /// Permission bits as found (the caller warns when others may write).
        public var mode: UInt32
    }

    /// Reads and parses the file at `path`. The identity comes from the open descriptor, so it
    /// belongs to exactly the bytes parsed even if the file is replaced meanwhile.
    public static func load(path: String) throws(TokenFileError) -> Snapshot {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotRead(path: path, reason: securityErrnoDescription()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotRead(path: path, reason: securityErrnoDescription()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotRead(path: path, reason: "it is not a regular file") }
        // A token file of a few thousand lines is well under this; a bigger one is a mistake.
        let limit = 16 << 20
        guard Int(info.st_size) <= limit else { throw .cannotRead(path: path, reason: "it is larger than 16 MiB") }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, reason: securityErrnoDescription())
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            guard bytes.count <= limit else { throw .cannotRead(path: path, reason: "it is larger than 16 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .cannotRead(path: path, reason: "it is not UTF-8 text")
        }
        let file = try TokenFile(parsing: text, path: path)
        return Snapshot(file: file, identity: FileIdentity(info), mode: UInt32(info.st_mode & 0o7777))
    }

    /// Replaces the file at `path` with this one, atomically: a reader (the server) sees the old file
    /// or the new one, never half of one. The new file has mode 0600.
    public func save(to path: String) throws(TokenFileError) {
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, Self.fileMode)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: securityErrnoDescription()) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do throws(TokenFileError) {
            // open() honours the umask; the mode must not depend on it.
            guard fchmod(fd, Self.fileMode) == 0 else { throw TokenFileError.cannotWrite(path: path, reason: securityErrnoDescription()) }
            let bytes = Array(rendered().utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw TokenFileError.cannotWrite(path: path, reason: securityErrnoDescription())
                }
                offset += written
            }
            guard fsync(fd) == 0 else { throw TokenFileError.cannotWrite(path: path, reason: securityErrnoDescription()) }
            closed = true
            guard close(fd) == 0 else { throw TokenFileError.cannotWrite(path: path, reason: securityErrnoDescription()) }
            guard rename(temporary, path) == 0 else { throw TokenFileError.cannotWrite(path: path, reason: securityErrnoDescription()) }
        } catch {
            unlink(temporary)
            throw error
        }
        Self.syncDirectory(of: path)
    }

    /// Loads the file at `path` (an absent file counts as empty), lets `change` edit it and saves the
    /// result, holding a lock on the folder so that two commands run at once cannot lose an edit.
    @discardableResult
    public static func update<Result>(
        path: String,
        _ change: (inout TokenFile) throws(TokenFileError) -> Result
    ) throws(TokenFileError) -> Result {
        let directory = directoryName(of: path)
        let lock = open(directory, O_RDONLY | O_CLOEXEC)
        guard lock >= 0 else { throw .cannotWrite(path: path, reason: "cannot open its folder: \(securityErrnoDescription())") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw .cannotWrite(path: path, reason: "cannot lock its folder: \(securityErrnoDescription())") }
        defer { flock(lock, LOCK_UN) }

        var file: TokenFile
        if FileIdentity.of(path: path) == nil {
            file = TokenFile()
        } else {
            file = try load(path: path).file
        }
        let result = try change(&file)
        try file.save(to: path)
        return result
    }

    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// Makes the rename durable; a failure only costs durability, so it is not an error.
    private static func syncDirectory(of path: String) {
        let fd = open(directoryName(of: path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

func securityErrnoDescription() -> String {
    String(cString: strerror(errno)).lowercased()
}
