#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StoreFile {
    /// Creates a missing store file empty, readable by its owner only (0600), before SQLite opens it.
    ///
    /// A store holds the whole archive: the server's is what tokens guard, a replica a private copy.
    /// SQLite would create the file 0644 (less the umask), readable by every local user. It gives its
    /// -wal and -shm files the mode of the database file, so those follow. An empty file is a valid
    /// empty database; an existing file keeps its mode (a chmod is the operator's call).
    static func createPrivately(_ path: String) throws {
        #if canImport(Glibc)
        let descriptor = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        #else
        let descriptor = Darwin.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        #endif
        if descriptor >= 0 {
            #if canImport(Glibc)
            _ = Glibc.close(descriptor)
            #else
            _ = Darwin.close(descriptor)
            #endif
            return
        }
        let failure = errno
        guard failure != EEXIST else { return }
        throw StoreError("cannot create the store at \(path): \(String(cString: strerror(failure)))")
    }
}
