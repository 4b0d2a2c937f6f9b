import NIOConcurrencyHelpers

/// Server-wide totals since start, for operators and the benchmark (`--stats-file`).
public final class ServerStatistics: Sendable {
    public struct Snapshot: Sendable, Hashable, Codable {
        public var connectionsAccepted: UInt64 = 0
        public var connectionsRefused: UInt64 = 0
        public var activeConnections: UInt64 = 0
        public var peakConnections: UInt64 = 0
        public var requests: UInt64 = 0
        public var bytesIn: UInt64 = 0
        public var bytesOut: UInt64 = 0
        public var pulls: UInt64 = 0
        public var batches: UInt64 = 0
        public var changesSent: UInt64 = 0
        public var pushes: UInt64 = 0
        /// Every read the server made of its store (a push's own reads included).
        public var storeReads: UInt64 = 0
        /// Head moves that woke long polls parked at the tail.
        public var wakeUps: UInt64 = 0
        /// The broadcaster's reads of the tail: one per distinct cursor per wake-up.
        public var tailReads: UInt64 = 0
        /// Long polls answered with the broadcaster's shared bytes.
        public var sharedAnswers: UInt64 = 0
    }

    private let box = NIOLockedValueBox(Snapshot())

    public init() {}

    public func snapshot() -> Snapshot {
        box.withLockedValue { $0 }
    }

    func update(_ body: (inout Snapshot) -> Void) {
        box.withLockedValue(body)
    }
}

/// Counters of one connection: written by its handlers on the event loop and by its task, read when
/// it closes.
final class ConnectionCounters: Sendable {
    struct Values: Sendable {
        var bytesIn: UInt64 = 0
        var bytesOut: UInt64 = 0
        var requests: UInt64 = 0
    }

    private let box = NIOLockedValueBox(Values())
    private let server: ServerStatistics

    init(server: ServerStatistics) {
        self.server = server
    }

    var values: Values { box.withLockedValue { $0 } }

    func addBytesIn(_ count: Int) {
        box.withLockedValue { $0.bytesIn += UInt64(count) }
        server.update { $0.bytesIn += UInt64(count) }
    }

    func addBytesOut(_ count: Int) {
        box.withLockedValue { $0.bytesOut += UInt64(count) }
        server.update { $0.bytesOut += UInt64(count) }
    }

    func addRequest() {
        box.withLockedValue { $0.requests += 1 }
        server.update { $0.requests += 1 }
    }
}
