import NIOCore
import Synchronization

/// Bounds the bytes that compressed frames of all connections may inflate to at once. A connection
/// reserves a frame's `inflatedLength` before inflating it and waits while the budget is spent, so
/// many peers sending small frames that claim large payloads cost the server at most the budget.
final class InflationBudget: Sendable {
    private struct Waiter {
        var id: Int
        var bytes: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var available: Int
        var nextID = 0
        var waiters: [Waiter] = []
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    var available: Int { state.withLock { $0.available } }

    /// Takes `bytes` (at most the capacity) from the budget, waiting in line while others hold it.
    /// False when the task was cancelled or `abandoned` completed meanwhile (the peer went away):
    /// nothing is taken then.
    func reserve(_ bytes: Int, abandonedWhen abandoned: EventLoopFuture<Void>? = nil) async -> Bool {
        let bytes = min(bytes, capacity)
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let granted = state.withLock { state -> Bool? in
                    if Task.isCancelled { return false }
                    if state.waiters.isEmpty, state.available >= bytes {
                        state.available -= bytes
                        return true
                    }
                    state.waiters.append(Waiter(id: id, bytes: bytes, continuation: continuation))
                    return nil
                }
                if let granted {
                    continuation.resume(returning: granted)
                } else {
                    abandoned?.whenComplete { _ in self.withdraw(id) }
                }
            }
        } onCancel: {
            withdraw(id)
        }
    }

    private func withdraw(_ id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Gives back what `reserve` took, and lets the waiters it now covers go, in order.
    func release(_ bytes: Int) {
        let bytes = min(bytes, capacity)
        let ready = state.withLock { state -> [Waiter] in
            state.available += bytes
            var ready: [Waiter] = []
            while let first = state.waiters.first, first.bytes <= state.available {
                state.available -= first.bytes
                ready.append(state.waiters.removeFirst())
            }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }
}
