import ArticleSyncProtocol
import NIOSSL

/// Everything a server needs to know before it starts. Immutable once the server runs; every limit has
/// a documented default that matches PROTOCOL.md §9.
public struct ServerConfiguration: Sendable {
    /// Address to bind. Default `127.0.0.1`: a server is reachable from elsewhere only when asked.
    public var host: String = "127.0.0.1"
    /// TCP port. Default 7420 (PROTOCOL.md §2); 0 picks a free port.
    public var port: Int = ProtocolLimits.defaultPort

    /// Largest frame `length` accepted after WELCOME, announced in WELCOME. Default 16 MiB (MAX_FRAME).
    /// Before WELCOME the codec accepts at most MAX_HELLO_FRAME (64 KiB) whatever this says.
    public var maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength
    /// Connections served at once; the next one is answered TOO_MANY_CONNECTIONS. Default 10,000 (a
    /// parked follower costs a few kilobytes). Each takes a file descriptor: the server raises its soft
    /// RLIMIT_NOFILE to the hard limit at start and logs how many it can honour.
    public var maxConnections: Int = 10_000
    /// A complete HELLO must arrive within this time of the accept (TLS handshake included). Default 10 s.
    public var handshakeTimeout: Duration = .seconds(10)
    /// In READY the next complete request must arrive within this time. Default 120 s.
    public var idleTimeout: Duration = .seconds(120)
    /// In BUSY a peer that lets no frame of the response reach the network for this long is closed
    /// (PROTOCOL.md §4.3, stalled reader). Default 120 s.
    public var stallTimeout: Duration = .seconds(120)
    /// Each connection's kernel send buffer (SO_SNDBUF), in bytes; the kernel caps it at
    /// `net.core.wmem_max`. nil, the default, leaves it to the kernel's autotuning, which suits most
    /// links; a fixed size makes how much of a response can wait in the kernel predictable.
    public var sendBufferSize: Int? = nil

    /// Batch budget used when a PULL asks for 0. Default 1 MiB (PROTOCOL.md §5.3).
    public var defaultBatchBudget: UInt32 = ProtocolLimits.defaultBudget
    /// Upper clamp of a PULL's budget. Default 8 MiB, the spec's maximum; lower it to cap the memory a
    /// single pull can hold (the lower clamp is always 4 KiB).
    public var maxBatchBudget: UInt32 = ProtocolLimits.maxBudget
    /// Longest long-poll honoured. Default 300 s, the spec's maximum.
    public var maxLongPoll: Duration = .milliseconds(Int64(ProtocolLimits.maxWaitMillis))
    /// Largest PUSH `count` accepted; more is REQUEST_TOO_LARGE. Default 10,000 (MAX_PUSH_ENTRIES).
    public var maxPushEntries: Int = Int(ProtocolLimits.maxPushEntries)
    /// Largest `inflatedLength` of a compressed frame on a WRITE connection. Default 64 MiB
    /// (MAX_INFLATED); READ connections and the handshake have their own, smaller limits (§9).
    public var maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength
    /// Bytes that compressed frames of all connections together may inflate to at once; a frame
    /// that would exceed it waits until others are done. Default 64 MiB. A frame's own limit never
    /// exceeds it.
    public var inflationBudget: Int = 64 << 20
    /// Bytes of unfinished frames beyond each connection's small allowance that all connections
    /// may buffer at once (`ByteBudget`); a connection over it reads nothing until it is its turn.
    public var inputBudget: Int = 16 << 20
    /// How often the server looks for changes of its tokens (a revoke, a removal) to end the
    /// connections that hold them. Default 1 s.
    public var credentialsCheckInterval: Duration = .seconds(1)

    /// On SIGTERM/SIGINT, running responses get this long to finish before their connections are
    /// closed with SHUTTING_DOWN. Default 10 s.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// How often the server looks at the store's head for changes made by other processes (for example
    /// `articlesyncd import` on the same file), to wake long polls. One query per interval for the whole
    /// server, whatever the number of waiting clients; nil turns it off. Default 1 s.
    public var externalChangePollInterval: Duration? = .seconds(1)

    /// Feature bits the server offers (PROTOCOL.md §6); WELCOME announces the intersection with the
    /// client's. Default: all.
    public var features: Features = .all
    /// Free text naming the server software in WELCOME.
    public var agent: String = "articlesyncd/\(ArticleSyncVersion.current)"

    /// Decides the role of each connection from its HELLO (PROTOCOL.md §10). Default: no tokens, READ
    /// for anonymous clients on loopback only.
    public var authenticator: any Authenticator = AnonymousAuthenticator()
    /// When set, the server speaks TLS only, from the first byte; a peer whose first byte is not a TLS
    /// handshake record is answered TLS_REQUIRED in plain text (PROTOCOL.md §10).
    public var tlsContext: NIOSSLContext? = nil

    /// Where the Prometheus text endpoint (`GET /metrics`) listens; nil, the default, serves none. It
    /// has its own address so that it can stay on loopback while clients connect from elsewhere.
    public var metricsAddress: MetricsAddress? = nil

    public init() {}

    /// The clamped batch budget for a PULL's `budget` field.
    public func batchBudget(requested: UInt32) -> Int {
        let budget = requested == 0 ? defaultBatchBudget : requested
        let upper = max(ProtocolLimits.minBudget, min(maxBatchBudget, ProtocolLimits.maxBudget))
        return Int(min(max(budget, ProtocolLimits.minBudget), upper))
    }

    /// The clamped long-poll for a PULL's `waitMillis` field.
    public func longPoll(requestedMillis: UInt32) -> Duration {
        min(.milliseconds(Int64(min(requestedMillis, ProtocolLimits.maxWaitMillis))), maxLongPoll)
    }
}

/// The address of the metrics endpoint.
public struct MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    /// Default loopback: metrics name the server's clients and tokens.
    public var host: String
    /// 0 picks a free port.
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// "PORT" (on 127.0.0.1), "HOST:PORT" or "[IPv6]:PORT"; nil when it is none of these.
    public init?(parsing text: String) {
        if let port = Int(text) {
            self.init(port: port)
        } else if text.hasPrefix("["), let close = text.lastIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":"),
                  let port = Int(text[text.index(close, offsetBy: 2)...]) {
            self.init(host: String(text[text.index(after: text.startIndex)..<close]), port: port)
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":"), !text[..<colon].isEmpty,
                  let port = Int(text[text.index(after: colon)...]) {
            self.init(host: String(text[..<colon]), port: port)
        } else {
            return nil
        }
        guard (0...65_535).contains(port) else { return nil }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
