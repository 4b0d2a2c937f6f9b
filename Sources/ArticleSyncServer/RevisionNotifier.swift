import NIOConcurrencyHelpers
import NIOCore

/// Wakes long polls when the store's head moves (PROTOCOL.md §5.3 step 4). A waiting client costs a
/// callback and one scheduled timer, no task: nothing runs for it until a change lands, its wait
/// ends, or it goes away.
public final class RevisionNotifier: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// The head moved past the revision waited on.
        case advanced(head: UInt64)
        case timedOut
        /// The waiting task was cancelled (its client went away).
        case cancelled
        case shuttingDown
        /// The tail broadcaster wrote the whole response (BATCH and CAUGHT_UP) for this waiter.
        case answered
    }

    /// Called exactly once with a waiter's outcome.
    typealias Resume = @Sendable (Outcome) -> Void

    private struct Waiter {
        var revision: UInt64
        var resume: Resume
        var timer: Scheduled<Void>?
        var tail: TailRequest?
    }

    private struct State {
        var head: UInt64
        var isShutDown = false
        var nextID = 0
        var waiters: [Int: Waiter] = [:]
        var broadcaster: TailBroadcaster?
        /// When each recent head was first seen, oldest first: how long a cursor has been behind.
        var published: [(head: UInt64, at: NIODeadline)] = []
    }

    /// Heads remembered for `behindSince(cursor:)`: enough for the revisions a follower may trail.
    private static let publishedHistory = 1_024

    private let state: NIOLockedValueBox<State>

    public init(head: UInt64) {
        state = NIOLockedValueBox(State(head: head, published: [(head, .now())]))
    }

    public var head: UInt64 { state.withLockedValue { $0.head } }

    public var waitingCount: Int { state.withLockedValue { $0.waiters.count } }

    /// Hands the long polls that name a `TailRequest` to `broadcaster` when the head moves, so the
    /// changes at the tail are read once for all of them.
    func attach(_ broadcaster: TailBroadcaster) {
        state.withLockedValue { $0.broadcaster = broadcaster }
    }

    /// When the head first passed `cursor`, as far as the remembered heads tell; nil when it has not.
    func behindSince(cursor: UInt64) -> NIODeadline? {
        state.withLockedValue { state in
            guard state.head > cursor else { return nil }
            return state.published.first { $0.head > cursor }?.at ?? state.published.first?.at
        }
    }

    /// A new head was committed (a push, an import). Lower values are ignored: the head only grows.
    public func publish(head: UInt64) {
        let (woken, broadcaster): ([Waiter], TailBroadcaster?) = state.withLockedValue { state in
            guard head > state.head else { return ([], nil) }
            state.head = head
            state.published.append((head, .now()))
            if state.published.count > Self.publishedHistory { state.published.removeFirst(state.published.count / 2) }
            let ready = state.waiters.filter { $0.value.revision < head }
            for id in ready.keys { state.waiters[id] = nil }
            return (Array(ready.values), state.broadcaster)
        }
        var parked: [TailBroadcaster.Parked] = []
        for waiter in woken {
            waiter.timer?.cancel()
            if broadcaster != nil, let tail = waiter.tail {
                parked.append(TailBroadcaster.Parked(request: tail, resume: waiter.resume))
            } else {
                waiter.resume(.advanced(head: head))
            }
        }
        if let broadcaster, !parked.isEmpty {
            broadcaster.headMoved(to: head, parked: parked)
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
            waiter.resume(.shuttingDown)
        }
    }

    /// Waits until the head is above `revision`, `timeout` passes (timed on `eventLoop`), the task is
    /// cancelled, or the notifier shuts down.
    public func wait(forRevisionAbove revision: UInt64, timeout: TimeAmount, on eventLoop: any EventLoop) async -> Outcome {
        await wait(forRevisionAbove: revision, timeout: timeout, on: eventLoop, tail: nil)
    }

    /// As above; with `tail`, a change wakes the waiter through the attached broadcaster, which may
    /// answer the pull itself (`.answered`).
    func wait(forRevisionAbove revision: UInt64, timeout: TimeAmount, on eventLoop: any EventLoop, tail: TailRequest?) async -> Outcome {
        let id = makeID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let immediate = register(id, forRevisionAbove: revision, timeout: timeout, on: eventLoop, tail: tail, cancelled: Task.isCancelled) {
                    continuation.resume(returning: $0)
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            finish(id, with: .cancelled)
        }
    }

    /// Parks a long poll under `id` (from `makeID()`) without a task: `resume` gets the outcome
    /// exactly once, and `cancel(_:)` ends the wait. When there is nothing to wait for (the head is
    /// already above `revision`, or the notifier has shut down) the outcome is returned instead and
    /// `resume` is never called: the caller goes on itself, and no outcome can reach it before it
    /// has recorded the park.
    func park(
        _ id: Int, forRevisionAbove revision: UInt64, timeout: TimeAmount, on eventLoop: any EventLoop, tail: TailRequest?,
        resume: @escaping Resume
    ) -> Outcome? {
        register(id, forRevisionAbove: revision, timeout: timeout, on: eventLoop, tail: tail, cancelled: false, resume: resume)
    }

    /// Ends a parked wait with `.cancelled`; nothing when it has ended already.
    func cancel(_ id: Int) {
        finish(id, with: .cancelled)
    }

    /// A fresh waiter id for `park(_:forRevisionAbove:timeout:on:tail:resume:)`.
    func makeID() -> Int {
        state.withLockedValue { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Registers a waiter and arms its timer; the outcome, with `resume` left uncalled, when the
    /// wait is over before it begins.
    private func register(
        _ id: Int, forRevisionAbove revision: UInt64, timeout: TimeAmount, on eventLoop: any EventLoop, tail: TailRequest?,
        cancelled: Bool, resume: @escaping Resume
    ) -> Outcome? {
        let immediate: Outcome? = state.withLockedValue { state in
            if state.isShutDown { return .shuttingDown }
            if state.head > revision { return .advanced(head: state.head) }
            if cancelled { return .cancelled }
            state.waiters[id] = Waiter(revision: revision, resume: resume, timer: nil, tail: tail)
            return nil
        }
        if let immediate { return immediate }
        let timer = eventLoop.scheduleTask(in: timeout) { [self] in
            self.finish(id, with: .timedOut)
        }
        let stillWaiting = state.withLockedValue { state -> Bool in
            guard state.waiters[id] != nil else { return false }
            state.waiters[id]?.timer = timer
            return true
        }
        if !stillWaiting { timer.cancel() }
        return nil
    }

    private func finish(_ id: Int, with outcome: Outcome) {
        let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.resume(outcome)
    }
}
