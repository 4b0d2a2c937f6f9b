import Foundation

/// One request as the reader app sees it: what NIOHTTP1 parsed, nothing of the connection.
public struct ReaderRequest: Sendable, Hashable {
    public var method: String
    /// The request target as sent ("/suche?q=strasse").
    public var target: String
    /// Every Host header sent (HTTP/1.1 requires exactly one).
    public var hosts: [String]
    /// Cookie header values.
    public var cookies: [String]

    public init(method: String, target: String, hosts: [String], cookies: [String] = []) {
        self.method = method
        self.target = target
        self.hosts = hosts
        self.cookies = cookies
    }

    /// The cookie `name`'s value, if sent.
    func cookie(_ name: String) -> String? {
        for header in cookies {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(parts[1]).trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}

public struct ReaderResponse: Sendable, Hashable {
    public var status: Int
    public var reason: String
    public var headers: [Header]
    public var body: [UInt8]

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    init(status: Int, reason: String, contentType: String, body: String, extraHeaders: [Header] = []) {
        self.status = status
        self.reason = reason
        self.body = Array(body.utf8)
        // No other origin, no inline script or style, no framing by another page: an escaping
        // mistake could still not run a script.
        headers = [
            Header(name: "Content-Type", value: contentType),
            Header(
                name: "Content-Security-Policy",
                value: "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
            Header(name: "X-Content-Type-Options", value: "nosniff"),
            Header(name: "Referrer-Policy", value: "no-referrer"),
            // Pages change with every pull: a reload must show new articles.
            Header(name: "Cache-Control", value: "no-store"),
        ] + extraHeaders
    }

    static func text(_ status: Int, _ reason: String, _ message: String) -> ReaderResponse {
        ReaderResponse(status: status, reason: reason, contentType: "text/plain; charset=utf-8", body: message + "\n")
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
