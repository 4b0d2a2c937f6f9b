import NIOCore

/// Which addresses count as loopback: the only place where the server serves without tokens and
/// accepts a token without TLS (PROTOCOL.md §10).
public enum LoopbackAddress {
    /// True for 127.0.0.0/8, ::1, IPv4-mapped 127.x and Unix domain sockets.
    public static func contains(_ address: SocketAddress) -> Bool {
        switch address {
        case .unixDomainSocket:
            return true
        case .v4, .v6:
            guard let ip = address.ipAddress else { return false }
            return isLoopback(ipLiteral: ip)
        }
    }

    /// True for a host name or address literal that means this machine only ("localhost",
    /// "127.0.0.1", "::1", "[::1]"). Wildcards such as 0.0.0.0 and :: are not loopback.
    public static func contains(host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        return isLoopback(ipLiteral: host)
    }

    private static func isLoopback(ipLiteral ip: String) -> Bool {
        let ip = ip.lowercased()
        if ip == "::1" || ip == "0:0:0:0:0:0:0:1" { return true }
        if ip.hasPrefix("::ffff:") { return isIPv4Loopback(String(ip.dropFirst("::ffff:".count))) }
        return isIPv4Loopback(ip)
    }

    private static func isIPv4Loopback(_ ip: String) -> Bool {
        let parts = ip.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }
}
