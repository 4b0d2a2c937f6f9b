import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a failed bind into what to do about it: SwiftNIO's own text
/// ("bind(descriptor:ptr:bytes:): Address already in use (errno: 98)") names neither the port
/// nor the flag that changes it.
enum ListenFailure {
    /// An address `serve` listens on, and the flag that sets it.
    struct Listener {
        var host: String
        var port: Int
        var flag: String
    }

    /// Binds each listener and lets it go at once, before the store is opened or imported into: a
    /// busy or foreign address fails here, having created nothing and imported nothing. (The real
    /// bind follows; a port taken in between fails there, worded for `--port`.)
    static func probe(_ listeners: [Listener]) async throws {
        for listener in listeners {
            try await explained(listener) {
                let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: listener.host, port: listener.port).get()
                try await channel.close()
            }
        }
    }

    static func explained<Result>(_ listener: Listener, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as IOError {
            guard let sentence = sentence(for: error.errnoCode, listener) else { throw error }
            throw CommandFailure(sentence)
        }
    }

    static func sentence(for code: Int32, _ listener: Listener) -> String? {
        let (host, port, flag) = (listener.host, listener.port, listener.flag)
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let hostFlag = flag == "--port" ? "--host" : flag
        switch code {
        case EADDRINUSE:
            return "cannot listen on \(address) (\(flag)): port \(port) is already in use (another articlesyncd, or another service). Stop it, or choose another port with \(flag)"
                + (flag == "--port" ? " (0 picks a free one)" : "")
        case EACCES:
            return "cannot listen on \(address) (\(flag)): ports below 1024 need privileges. Choose a port of 1024 or above with \(flag) (articlesync's own is 7420), or grant the capability CAP_NET_BIND_SERVICE"
        case EADDRNOTAVAIL:
            return "cannot listen on \(address) (\(flag)): \(host) is not an address of this machine. Check \(hostFlag) (0.0.0.0 listens on every address)"
        default:
            return nil
        }
    }
}
