#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An exclusive claim on a store by the server that serves it, or on a replica by the pull that
/// writes it: an advisory `flock` on a lock file beside the file (`STORE.lock`), which holds the
/// owner's pid for the message of a second claimant. The kernel drops the lock when its process
/// ends however it ends, so a stale file never blocks.
///
/// Only servers and pulls take it: an import or a purge into a served store is a supported way to
/// change it (the server polls for external changes), and SQLite orders those writes itself; two
/// pulls into one replica would only wait on each other's transactions, then fail.
public final class StoreLock: Sendable {
    /// The lock file.
    public let path: String
    private let descriptor = Mutex<Int32?>(nil)

    public static func lockPath(forStoreAt storePath: String) -> String { storePath + ".lock" }

    /// Who holds a lock, for the message of the next one who asks.
    public enum Holder: Sendable {
        case server
        case pull

        func refusal(_ storePath: String, pid: Int32?, lockFile: String) -> String {
            switch self {
            case .server:
                let who = pid.map { "another process (pid \($0))" } ?? "another process"
                return "the store \(storePath) is already served by \(who): one server per store (lock file \(lockFile))"
            case .pull:
                let who = pid.map { "another articlesync (pid \($0))" } ?? "another articlesync"
                return "\(who) is pulling into the replica \(storePath): one pull at a time; wait for it to finish, or stop it (lock file \(lockFile))"
            }
        }
    }

    /// Takes the lock for the store (or replica) at `storePath`, or throws without waiting when
    /// another process holds it (naming that process when its pid can be read).
    public init(storeAt storePath: String, for holder: Holder = .server) throws {
        path = Self.lockPath(forStoreAt: storePath)
        // A replica's sidecars are its owner's alone, like the replica (a pid is all it holds).
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, holder == .pull ? 0o600 : 0o644)
        guard fd >= 0 else {
            throw StoreError("cannot create the lock file \(path) of the store \(storePath): \(Self.lastError())")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let reason = Self.lastError()
            let owner = Self.readPID(fd)
            close(fd)
            if failure == EWOULDBLOCK {
                throw StoreError(holder.refusal(storePath, pid: owner, lockFile: path))
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
