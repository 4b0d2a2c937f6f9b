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
    /// How long a response may stay silent before the connection counts as dead. Must exceed any
    /// long-poll we ask for, so `follow` adds its wait on top.
    public var readTimeout: Duration
    /// Compress PUSH frames (sources are text: zlib roughly halves them).
    public var compressPushes: Bool
    /// TLS and how to trust the server (Security/); nil speaks plain TCP.
    public var tls: ClientTLSOptions?

    public init(
        address: ServerAddress,
        token: String = "",
        agent: String = "articlesync/1.0",
        features: Features = .all,
        connectTimeout: Duration = .seconds(10),
        readTimeout: Duration = .seconds(120),
        compressPushes: Bool = true,
        tls: ClientTLSOptions? = nil
    ) {
        self.address = address
        self.token = token
        self.agent = agent
        self.features = features
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.compressPushes = compressPushes
        self.tls = tls
    }
}
