import Synchronization

/// Bytes that all connections together may hold for one purpose, handed out in the order asked
/// for: the unfinished frames they buffer (`ServerContext.input`: each connection buffers a small
/// allowance of its own and reads nothing while it waits for more, so many peers that send most of a
/// large frame and never the rest cost the server at most the budget), and what compressed frames
/// inflate to (`InflationBudget`, its async form).
final class ByteBudget: Sendable {
    private struct Waiter {
        var id: Int
        var bytes: Int
        var granted: @Sendable () -> Void
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

    enum Outcome: Sendable, Equatable {
        case taken
        /// In line under this id; `granted` is called once the bytes are taken for it.
        case waiting(id: Int)
    }

    /// Takes `bytes` (at most the capacity) now, or queues the request: `granted` is then called,
    /// from whichever connection released enough, once the bytes are taken for the caller.
    func take(_ bytes: Int, granted: @escaping @Sendable () -> Void) -> Outcome {
        let bytes = min(bytes, capacity)
        return state.withLock { state in
            if state.waiters.isEmpty, state.available >= bytes {
                state.available -= bytes
                return .taken
            }
            let id = state.nextID
            state.nextID += 1
            state.waiters.append(Waiter(id: id, bytes: bytes, granted: granted))
            return .waiting(id: id)
        }
    }

    /// Leaves the line (the connection closed). False when the request was granted meanwhile: the
    /// caller then gets `granted` and must give the bytes back.
    func withdraw(_ id: Int) -> Bool {
        state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
            state.waiters.remove(at: index)
            return true
        }
    }

    /// Gives back what `take` took, and grants the waiters it now covers, in order.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let bytes = min(bytes, capacity)
        let ready = state.withLock { state -> [Waiter] in
            state.available = min(capacity, state.available + bytes)
            var ready: [Waiter] = []
            while let first = state.waiters.first, first.bytes <= state.available {
                state.available -= first.bytes
                ready.append(state.waiters.removeFirst())
            }
            return ready
        }
        for waiter in ready { waiter.granted() }
    }
}
