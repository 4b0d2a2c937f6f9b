import Synchronization

/// Batches handed to the writer one after the other (`ReplicaStore.enqueueBatch`): once one fails,
/// the later ones fail without writing, so the replica never holds a batch whose predecessor is
/// missing (its cursor would skip the predecessor's changes).
public final class CommitChain: Sendable {
    public struct EarlierBatchFailed: Error, CustomStringConvertible {
        public var description: String { "not written: an earlier batch failed to commit" }
    }

    private let failed = Mutex(false)

    public init() {}

    public var hasFailed: Bool { failed.withLock { $0 } }

    func fail() { failed.withLock { $0 = true } }
}

/// The outcome of a batch handed to the writer: awaited by as many as need it, once or after it
/// is known.
public final class PendingCommit: Sendable {
    private enum State {
        case waiting([CheckedContinuation<[Arrival], any Error>])
        case done(Result<[Arrival], any Error>)
    }

    private let state = Mutex(State.waiting([]))

    init() {}

    /// The arrivals the batch recorded, once it has committed; its error if it did not.
    public func value() async throws -> [Arrival] {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<[Arrival], any Error>? in
                switch state {
                case .done(let outcome):
                    return outcome
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    func complete(_ outcome: Result<[Arrival], any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<[Arrival], any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = .done(outcome)
            return waiters
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}
