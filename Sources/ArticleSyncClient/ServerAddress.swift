import ArticleSyncProtocol

/// Where a server listens: "HOST:PORT", "HOST" (default port), or "[IPv6]:PORT".
public struct ServerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = ProtocolLimits.defaultPort) {
        self.host = host
        self.port = port
    }

    /// Parses the forms people type; nil when the text cannot name a server.
    public init?(parsing text: String) {
        let text = text.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        var host = text
        var portText: Substring? = nil
        if text.hasPrefix("[") {
            // "[::1]:7420" or "[::1]": brackets keep an IPv6 address's colons apart from the port's.
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            // More than one colon without brackets is a bare IPv6 address with no port.
            if text.firstIndex(of: ":") == colon {
                host = String(text[..<colon])
                portText = text[text.index(after: colon)...]
            }
        }
        guard !host.isEmpty else { return nil }
        var port = ProtocolLimits.defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return nil }
            port = value
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
