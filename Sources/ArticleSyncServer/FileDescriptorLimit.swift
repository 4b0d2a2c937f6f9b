#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit, which bounds the connections a server can hold: each is a socket.
public enum FileDescriptorLimit {
    /// Descriptors kept for what is not a client: the store and its WAL, the listening sockets, logs,
    /// the lock file, the metrics endpoint and its scrapes.
    public static let reserved = 64

    /// Raises the soft RLIMIT_NOFILE to the hard limit (an unprivileged process may) and returns the
    /// soft limit now in force, or nil when it cannot be read.
    @discardableResult
    public static func raiseToHardLimit() -> Int? {
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// The connections `softLimit` descriptors can honour.
    public static func connections(honouredBy softLimit: Int) -> Int {
        max(1, softLimit - reserved)
    }
}
