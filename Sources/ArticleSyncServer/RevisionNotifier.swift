import NIOConcurrencyHelpers
import NIOCore

/// Wakes long polls when the store's head moves (PROTOCOL.md §5.3 step 4). A waiting client costs a
/// suspended continuation and one scheduled timer: nothing runs for it until a change lands, its wait
/// ends, or it goes away.
public final class RevisionNotifier: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// The head moved past the revision waited on.
        case advanced(head: UInt64)
        case timedOut
        /// The waiting task was cancelled (its client went away).
        case cancelled
        case shuttingDown
    }

    private struct Waiter {
        var revision: UInt64
        var continuation: CheckedContinuation<Outcome, Never>
        var timer: Scheduled<Void>?
    }

    private struct State {
        var head: UInt64
        var isShutDown = false
        var nextID = 0
        var waiters: [Int: Waiter] = [:]
    }

    private let state: NIOLockedValueBox<State>

    public init(head: UInt64) {
        state = NIOLockedValueBox(State(head: head))
    }

    public var head: UInt64 { state.withLockedValue { $0.head } }

    public var waitingCount: Int { state.withLockedValue { $0.waiters.count } }

    /// A new head was committed (a push, an import). Lower values are ignored: the head only grows.
    public func publish(head: UInt64) {
        let woken: [Waiter] = state.withLockedValue { state in
            guard head > state.head else { return [] }
            state.head = head
            let ready = state.waiters.filter { $0.value.revision < head }
            for id in ready.keys { state.waiters[id] = nil }
            return Array(ready.values)
        }
        for waiter in woken {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: .advanced(head: head))
        }
    }

    /// Wakes every waiter with `.shuttingDown`, and every later one at once.
    public func shutDown() {
        let woken: [Waiter] = state.withLockedValue { state in
            state.isShutDown = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in woken {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: .shuttingDown)
        }
    }

    /// Waits until the head is above `revision`, `timeout` passes (timed on `eventLoop`), the task is
    /// cancelled, or the notifier shuts down.
    public func wait(forRevisionAbove revision: UInt64, timeout: TimeAmount, on eventLoop: any EventLoop) async -> Outcome {
        let id = state.withLockedValue { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let immediate: Outcome? = state.withLockedValue { state in
                    if state.isShutDown { return .shuttingDown }
                    if state.head > revision { return .advanced(head: state.head) }
                    if Task.isCancelled { return .cancelled }
                    state.waiters[id] = Waiter(revision: revision, continuation: continuation, timer: nil)
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                let timer = eventLoop.scheduleTask(in: timeout) { [self] in
                    self.finish(id, with: .timedOut)
                }
                let stillWaiting = state.withLockedValue { state -> Bool in
                    guard state.waiters[id] != nil else { return false }
                    state.waiters[id]?.timer = timer
                    return true
                }
                if !stillWaiting { timer.cancel() }
            }
        } onCancel: {
            finish(id, with: .cancelled)
        }
    }

    private func finish(_ id: Int, with outcome: Outcome) {
        let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: outcome)
    }
}
