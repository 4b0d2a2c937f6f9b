#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An exclusive claim on a store by the server that serves it: an advisory `flock` on a lock file
/// beside the store (`STORE.lock`), which holds the owner's pid for the message of a second server.
/// The kernel drops the lock when its process ends however it ends, so a stale file never blocks.
///
/// Only servers take it: an import or a purge into a served store is a supported way to change it
/// (the server polls for external changes), and SQLite orders those writes itself.
public final class StoreLock: Sendable {
    /// The lock file.
    public let path: String
    private let descriptor = Mutex<Int32?>(nil)

    public static func lockPath(forStoreAt storePath: String) -> String { storePath + ".lock" }

    /// Takes the lock for the store at `storePath`, or throws without waiting when another process
    /// holds it (naming that process when its pid can be read).
    public init(storeAt storePath: String) throws {
        path = Self.lockPath(forStoreAt: storePath)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError("cannot create the lock file \(path) of the store \(storePath): \(Self.lastError())")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let reason = Self.lastError()
            let holder = Self.readPID(fd)
            close(fd)
            if failure == EWOULDBLOCK {
                let who = holder.map { "another process (pid \($0))" } ?? "another process"
                throw StoreError("the store \(storePath) is already served by \(who): one server per store (lock file \(path))")
            }
            throw StoreError("cannot lock the store \(storePath) (lock file \(path)): \(reason)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor.withLock { $0 = fd }
    }

    /// Gives the lock up (the file stays: removing it could let two servers lock two files).
    public func release() {
        descriptor.withLock { fd in
            guard let open = fd else { return }
            close(open)
            fd = nil
        }
    }

    deinit { release() }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let digits = buffer[..<count].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return Int32(String(decoding: digits, as: UTF8.self)).flatMap { $0 > 0 ? $0 : nil }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
