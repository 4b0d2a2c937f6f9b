import NIOCore
import Synchronization

/// Bounds the bytes that compressed frames of all connections may inflate to at once. A connection
/// reserves a frame's `inflatedLength` before inflating it and waits while the budget is spent, so
/// many peers sending small frames that claim large payloads cost the server at most the budget.
/// The async form of a `ByteBudget`: the same line, awaited instead of called back.
final class InflationBudget: Sendable {
    private let budget: ByteBudget

    init(capacity: Int) {
        budget = ByteBudget(capacity: capacity)
    }

    var capacity: Int { budget.capacity }
    var available: Int { budget.available }

    /// Takes `bytes` (at most the capacity) from the budget, waiting in line while others hold it.
    /// False when the task was cancelled or `abandoned` completed meanwhile (the peer went away):
    /// nothing is taken then.
    func reserve(_ bytes: Int, abandonedWhen abandoned: EventLoopFuture<Void>? = nil) async -> Bool {
        let waiting = Reservation()
        let budget = self.budget
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                guard waiting.start(continuation) else { return }
                switch budget.take(bytes, granted: { waiting.finish(true) }) {
                case .taken:
                    waiting.finish(true)
                case .waiting(let id):
                    waiting.queued(as: id, in: budget)
                    abandoned?.whenComplete { _ in waiting.leave(budget) }
                }
            }
        } onCancel: {
            waiting.leave(budget)
        }
    }

    /// Gives back what `reserve` took, and lets the waiters it now covers go, in order.
    func release(_ bytes: Int) {
        budget.release(bytes)
    }

    /// One `reserve`'s continuation, resumed exactly once: granted, or taken out of the line by a
    /// cancellation or the peer's going away (which may come before it is even in line).
    private final class Reservation: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Bool, Never>?
            var id: Int?
            var left = false
        }

        private let state = Mutex(State())

        /// False when it was left before it began: it is then already resumed with false.
        func start(_ continuation: CheckedContinuation<Bool, Never>) -> Bool {
            let left = state.withLock { state -> Bool in
                if state.left { return true }
                state.continuation = continuation
                return false
            }
            if left { continuation.resume(returning: false) }
            return !left
        }

        func queued(as id: Int, in budget: ByteBudget) {
            let leaveNow = state.withLock { state -> Bool in
                state.id = id
                return state.left
            }
            if leaveNow, budget.withdraw(id) { finish(false) }
        }

        func leave(_ budget: ByteBudget) {
            let id = state.withLock { state -> Int? in
                state.left = true
                return state.id
            }
            // Not in line yet: `start` or `queued` sees `left`. In line: out of it, unless it was
            // granted meanwhile, and then `finish(true)` resumes it.
            if let id, budget.withdraw(id) { finish(false) }
        }

        func finish(_ granted: Bool) {
            let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume(returning: granted)
        }
    }
}
