#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the client takes its access token from: a file (`--token-file`) or the environment
/// (`ARTICLESYNC_TOKEN`). Never from a plain command-line flag: arguments show in `ps` for every
/// user of the machine.
public enum AccessTokenSource {
    public static let environmentVariable = "ARTICLESYNC_TOKEN"

    /// The token, or "" when none is configured. A file wins over the environment.
    public static func load(tokenFile: String?, environment: [String: String]) throws(ClientError) -> String {
        if let tokenFile {
            return try validated(readTokenFile(tokenFile), origin: tokenFile)
        }
        if let value = environment[environmentVariable], !value.isEmpty {
            return try validated(value, origin: "$\(environmentVariable)")
        }
        return ""
    }

    /// A warning when `tokenFile` can be read by users other than its owner, who could then
    /// connect as this client (ssh refuses such a key; a mounted secret is often 0444, so this
    /// warns instead). Nil when it is private or cannot be examined.
    public static func permissionWarning(tokenFile: String) -> String? {
        var status = stat()
        guard stat(tokenFile, &status) == 0 else { return nil }
        let shared = status.st_mode & (S_IRGRP | S_IROTH)
        guard shared != 0 else { return nil }
        let mode = String(status.st_mode & 0o777, radix: 8)
        let who = status.st_mode & S_IROTH != 0 ? "every user of this machine" : "its group"
        return "the token file \(tokenFile) is readable by \(who) (mode \(mode)); anyone who reads it can connect as you: chmod 600 \(tokenFile)"
    }

    private static func validated(_ raw: String, origin: String) throws(ClientError) -> String {
        let token = String(raw.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard !token.isEmpty else {
            throw ClientError(.usage, "\(origin) holds no token (make one on the server: articlesyncd token add)")
        }
        guard !token.contains(where: \.isWhitespace) else {
            throw ClientError(.usage, "\(origin) must hold one token on one line")
        }
        guard token.utf8.count <= 1_024 else {
            throw ClientError(.usage, "the token in \(origin) is longer than 1024 bytes")
        }
        return token
    }

    private static func readTokenFile(_ path: String) throws(ClientError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ClientError(.usage, "cannot read the token file \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        defer { close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while bytes.count <= 8_192 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw ClientError(.usage, "cannot read the token file \(path): \(String(cString: strerror(errno)).lowercased())")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// PROTOCOL.md §10: a token never crosses a network in clear text. Over plain TCP, only a server on
/// loopback may receive one.
public enum TokenTransportPolicy {
    public static func check(tokenPresent: Bool, tlsEnabled: Bool, address: ServerAddress) throws(ClientError) {
        guard tokenPresent, !tlsEnabled, !isLoopback(host: address.host) else { return }
        throw ClientError(
            .usage,
            "refusing to send the access token in clear text to \(address): connect with --tls (tokens go unencrypted only to a server on this machine)"
        )
    }

    /// "localhost", 127.0.0.0/8 and ::1. A name that merely resolves to loopback does not count: the
    /// resolver could answer otherwise next time.
    public static func isLoopback(host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil } && parts[0] == "127"
    }
}

func secondsSince1970() -> time_t { time(nil) }
