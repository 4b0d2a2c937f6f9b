import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a failed bind into what to do about it: SwiftNIO's own text
/// ("bind(descriptor:ptr:bytes:): Address already in use (errno: 98)") names neither the port
/// nor the flag that changes it.
enum ListenFailure {
    static func explained<Result>(host: String, port: Int, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as IOError {
            guard let sentence = sentence(for: error.errnoCode, host: host, port: port) else { throw error }
            throw CommandFailure(sentence)
        }
    }

    static func sentence(for code: Int32, host: String, port: Int) -> String? {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        switch code {
        case EADDRINUSE:
            return "cannot listen on \(address): port \(port) is already in use (another articlesyncd, or another service). Stop it, or choose another port with --port (0 picks a free one)"
        case EACCES:
            return "cannot listen on \(address): ports below 1024 need privileges. Choose --port 1024 or above (articlesync's own is 7420), or grant the capability CAP_NET_BIND_SERVICE"
        case EADDRNOTAVAIL:
            return "cannot listen on \(address): \(host) is not an address of this machine. Check --host (0.0.0.0 listens on every address)"
        default:
            return nil
        }
    }
}
