import NIOCore

/// Counts failed authentications per peer address and blocks an address that fails too often, so a
/// token cannot be guessed at network speed (PROTOCOL.md §10, `RATE_LIMITED`).
///
/// A plain value driven by explicit instants: the caller passes the time, tests pass any time.
public struct AuthFailureLimiter: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Failures within `window` that block an address.
        public var maxFailures: Int
        public var window: Duration
        /// How long a blocked address stays blocked.
        public var blockDuration: Duration
        /// Addresses remembered at most; beyond it the stalest are forgotten, so a spray from many
        /// addresses cannot grow the server's memory without bound.
        public var maxTrackedAddresses: Int

        public init(
            maxFailures: Int = 5,
            window: Duration = .seconds(60),
            blockDuration: Duration = .seconds(300),
            maxTrackedAddresses: Int = 10_000
        ) {
            self.maxFailures = maxFailures
            self.window = window
            self.blockDuration = blockDuration
            self.maxTrackedAddresses = maxTrackedAddresses
        }
    }

    private struct Record: Sendable {
        var failures: [ContinuousClock.Instant] = []
        var blockedUntil: ContinuousClock.Instant?
        var lastSeen: ContinuousClock.Instant
    }

    public let configuration: Configuration
    private var records: [String: Record] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// When `address` is blocked at `now`, the instant the block ends; nil otherwise.
    public func blockedUntil(_ address: String, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard let until = records[address]?.blockedUntil, now < until else { return nil }
        return until
    }

    /// Records a failure; returns true when this failure blocks the address (once per block, so the
    /// caller logs the block once).
    public mutating func recordFailure(_ address: String, now: ContinuousClock.Instant) -> Bool {
        if records[address] == nil, records.count >= configuration.maxTrackedAddresses {
            forgetStalest(now: now)
        }
        var record = records[address] ?? Record(lastSeen: now)
        record.lastSeen = now
        record.failures.removeAll { $0 <= now - configuration.window }
        record.failures.append(now)
        var blocked = false
        if record.failures.count >= configuration.maxFailures, record.blockedUntil.map({ $0 <= now }) ?? true {
            record.blockedUntil = now + configuration.blockDuration
            record.failures.removeAll()
            blocked = true
        }
        records[address] = record
        return blocked
    }

    /// A success proves the peer holds a token; its earlier typos are forgiven.
    public mutating func recordSuccess(_ address: String) {
        if records[address]?.blockedUntil == nil {
            records[address] = nil
        }
    }

    /// Addresses currently remembered (for tests and the bound on memory).
    public var trackedAddressCount: Int { records.count }

    private mutating func forgetStalest(now: ContinuousClock.Instant) {
        // Expired entries go first; if none, the least recently seen quarter.
        records = records.filter { _, record in
            let blocked = record.blockedUntil.map { now < $0 } ?? false
            let recent = record.failures.contains { $0 > now - configuration.window }
            return blocked || recent
        }
        guard records.count >= configuration.maxTrackedAddresses else { return }
        let stalest = records.sorted { $0.value.lastSeen < $1.value.lastSeen }
            .prefix(max(1, configuration.maxTrackedAddresses / 4))
        for (address, _) in stalest {
            records[address] = nil
        }
    }
}

extension AuthFailureLimiter {
    /// The key an address's failures are counted under: an IPv4 address (an IPv4-mapped IPv6 one
    /// too), or the /64 of an IPv6 address, which one host or site can fill at will.
    public static func key(for address: SocketAddress) -> String {
        switch address {
        case .v4(let v4):
            return Self.ipv4(v4.address.sin_addr.s_addr.bigEndian)
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                return Self.ipv4(bytes[12..<16].reduce(0) { $0 << 8 | UInt32($1) })
            }
            let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            return groups.joined(separator: ":") + "::/64"
        case .unixDomainSocket:
            return "local"
        }
    }

    private static func ipv4(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}
