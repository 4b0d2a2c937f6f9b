import ArticleSyncProtocol

/// How to reach and talk to a server. Immutable once a sync starts.
public struct ClientConfiguration: Sendable {
    public var address: ServerAddress
    /// Access token; empty = none (PROTOCOL.md §10).
    public var token: String
    public var agent: String
    /// Features we offer in HELLO; the server's WELCOME says which are in force.
    public var features: Features
    public var connectTimeout: Duration
    /// How long the TLS handshake, HELLO and WELCOME may take together. A peer that is some other
    /// service (or a listener that never answers) is named as such when it passes, instead of
    /// waiting out `readTimeout`.
    public var handshakeTimeout: Duration
    /// How long a response may stay silent before the connection counts as dead. Must exceed any
    /// long-poll we ask for, so `follow` adds its wait on top.
    public var readTimeout: Duration
    /// How long one frame may take to arrive once its first byte came. Any byte resets the silence
    /// rule above, so without this a server trickling a byte a second would hold a pull forever.
    /// A long poll waits before its answer's first byte, so `follow` leaves this one alone.
    public var frameTimeout: Duration
    /// Compress PUSH frames (sources are text: zlib roughly halves them).
    public var compressPushes: Bool
    /// TLS and how to trust the server (Security/); nil speaks plain TCP.
    public var tls: ClientTLSOptions?

    public static let defaultReadTimeout: Duration = .seconds(120)
    public static let defaultHandshakeTimeout: Duration = .seconds(10)

    public init(
        address: ServerAddress,
        token: String = "",
        agent: String = "articlesync/\(ArticleSyncVersion.current)",
        features: Features = .all,
        connectTimeout: Duration = .seconds(10),
        readTimeout: Duration = ClientConfiguration.defaultReadTimeout,
        handshakeTimeout: Duration = ClientConfiguration.defaultHandshakeTimeout,
        frameTimeout: Duration? = nil,
        compressPushes: Bool = true,
        tls: ClientTLSOptions? = nil
    ) {
        self.address = address
        self.token = token
        self.agent = agent
        self.features = features
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.handshakeTimeout = handshakeTimeout
        self.frameTimeout = frameTimeout ?? readTimeout
        self.compressPushes = compressPushes
        self.tls = tls
    }

    /// `ARTICLESYNC_READ_TIMEOUT`: seconds (a decimal number, 0.1 to 86,400) for both the silence and
    /// the frame deadline. For scripts that would rather give up sooner than the default 120 s, and
    /// for tests.
    public static let readTimeoutVariable = "ARTICLESYNC_READ_TIMEOUT"

    /// The read timeout `environment` asks for, or the default.
    public static func readTimeout(environment: [String: String]) throws(ClientError) -> Duration {
        try seconds(readTimeoutVariable, in: environment) ?? defaultReadTimeout
    }

    /// `ARTICLESYNC_HANDSHAKE_TIMEOUT`: seconds (0.1 to 86,400) for the handshake deadline.
    public static let handshakeTimeoutVariable = "ARTICLESYNC_HANDSHAKE_TIMEOUT"

    /// The handshake deadline `environment` asks for, or the default.
    public static func handshakeTimeout(environment: [String: String]) throws(ClientError) -> Duration {
        try seconds(handshakeTimeoutVariable, in: environment) ?? defaultHandshakeTimeout
    }

    private static func seconds(_ variable: String, in environment: [String: String]) throws(ClientError) -> Duration? {
        guard let text = environment[variable], !text.isEmpty else { return nil }
        guard let seconds = Double(text), seconds >= 0.1, seconds <= 86_400 else {
            throw ClientError(.usage, "$\(variable) must be a number of seconds from 0.1 to 86400, not '\(text)'")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
