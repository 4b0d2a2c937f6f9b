import ArticleSyncProtocol

extension Syncer {
    /// Stays connected and applies new revisions as they land (long-poll), until the task is
    /// cancelled. A lost or refused connection is retried with exponential backoff and jitter, growing
    /// until a pull succeeds; errors that retrying cannot fix (bad data, the guard, access) end the loop.
    public func follow() async throws {
        var session: SyncSession? = nil
        defer { session?.close() }
        var backoff = Backoff(initial: options.initialBackoff, maximum: options.maximumBackoff)
        var followConfiguration = configuration
        // The read timeout must outlast the long poll, or we would cut our own waiting requests.
        followConfiguration.readTimeout = max(configuration.readTimeout, .milliseconds(Int64(options.followWaitMillis)) + .seconds(30))
        while !Task.isCancelled {
            do {
                try await SyncConnection.withConnection(followConfiguration) { connection in
                    self.onEvent(.connected(connection.welcome))
                    let current = try session ?? SyncSession(syncer: self)
                    session = current
                    while !Task.isCancelled {
                        let report = try await current.catchUp(on: connection, waitMillis: self.options.followWaitMillis)
                        await current.recordSuccess(report, server: connection.address)
                        // Only a pull that got through shows the server works again: one that
                        // welcomes and then fails must not bring the delay back to its minimum.
                        backoff.reset()
                    }
                }
            } catch let error as ClientError where error.status == .unavailable {
                let delay = backoff.next()
                onEvent(.reconnecting(after: delay, reason: error.message))
                try await Task.sleep(for: delay)
            }
        }
        throw CancellationError()
    }
}

/// Exponential backoff with "full jitter": each delay is random in [0, min(max, initial·2^n)], so
/// many clients cut off by one server restart do not all come back in the same instant.
struct Backoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private var attempt = 0

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    mutating func reset() { attempt = 0 }

    mutating func next() -> Duration {
        let ceiling = min(maximum, initial * (1 << min(attempt, 20)))
        attempt += 1
        let millis = max(1, Int64(Double(ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000)))
        // Never below the initial delay: a server that is down is not hammered in a tight loop.
        let floor = Int64(initial.components.seconds * 1000 + initial.components.attoseconds / 1_000_000_000_000_000)
        return .milliseconds(Int64.random(in: min(floor, millis)...millis))
    }
}
