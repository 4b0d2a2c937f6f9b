#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Pinned server certificates, remembered on first use like ssh's known_hosts.
///
/// A text file, one server per line, `HOST:PORT SHA256:FINGERPRINT`; `#` starts a comment. Default
/// place: `$XDG_DATA_HOME/articlesync/known_servers`, else `~/.local/share/articlesync/known_servers`.
/// A server's new certificate is trusted with `--pin NEW --replace-pin` (after checking NEW on the
/// server), or by deleting its line and trusting on first use again.
public struct KnownServers: Sendable {
    public struct Entry: Hashable, Sendable {
        public var server: String
        public var fingerprint: CertificateFingerprint
        public var line: Int
    }

    public let path: String
    public private(set) var entries: [Entry]

    /// Reads the file at `path`; a missing file is an empty list.
    public init(path: String) throws(ClientError) {
        self.path = path
        self.entries = []
        guard let text = try Self.readFile(path) else { return }
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            guard fields.count == 2, let fingerprint = CertificateFingerprint(parsing: String(fields[1])) else {
                throw ClientError(.ioError, "\(path) line \(lineNumber): expected HOST:PORT SHA256:FINGERPRINT")
            }
            entries.append(Entry(server: String(fields[0]), fingerprint: fingerprint, line: lineNumber))
        }
    }

    /// The per-user default path.
    public static func defaultPath(environment: [String: String]) -> String? {
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return data + "/articlesync/known_servers"
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.local/share/articlesync/known_servers"
    }

    /// The pin remembered for `server` ("host:port" as `ServerAddress` writes it).
    public func entry(for server: ServerAddress) -> Entry? {
        entries.first { $0.server == server.description }
    }

    /// Remembers `fingerprint` for `server` and writes the file (mode 0600, its folder 0700).
    public mutating func remember(_ fingerprint: CertificateFingerprint, for server: ServerAddress) throws(ClientError) {
        entries.removeAll { $0.server == server.description }
        entries.append(Entry(server: server.description, fingerprint: fingerprint, line: 0))
        var text = """
            # articlesync known servers: TLS certificates trusted on first use (like ssh's known_hosts).
            # HOST:PORT SHA256:FINGERPRINT. To trust a server's new certificate: --pin NEW --replace-pin.

            """
        for entry in entries {
            text += "\(entry.server) \(entry.fingerprint)\n"
        }
        try Self.writeFile(path, text)
    }

    private static func readFile(_ path: String) throws(ClientError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw ClientError(.ioError, "cannot read \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        defer { close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ClientError(.ioError, "cannot read \(path): \(String(cString: strerror(errno)).lowercased())")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            guard bytes.count <= 4 << 20 else { throw ClientError(.ioError, "\(path) is larger than 4 MiB") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func writeFile(_ path: String, _ text: String) throws(ClientError) {
        func failure(_ what: String) -> ClientError {
            ClientError(.ioError, "cannot \(what) \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        try makeParentDirectories(of: path)
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("write") }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                let error = failure("write")
                close(fd)
                unlink(temporary)
                throw error
            }
            offset += written
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure("write")
            unlink(temporary)
            throw error
        }
    }

    private static func makeParentDirectories(of path: String) throws(ClientError) {
        var prefix = ""
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        for (index, component) in components.enumerated() {
            prefix += (index == 0 ? "" : "/") + component
            guard !prefix.isEmpty else { continue }
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw ClientError(.ioError, "cannot create the folder \(prefix): \(String(cString: strerror(errno)).lowercased())")
            }
        }
    }
}
