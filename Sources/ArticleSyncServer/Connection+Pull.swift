import ArticleStore
import ArticleSyncProtocol
import NIOCore

extension Connection {
    /// PROTOCOL.md §5.3. At most one batch is being written while the next is read from the store
    /// (`streamChanges`): a slow client holds about two batches of server memory.
    func performPull(_ pull: Pull, session: ConnectionStateMachine.Session, outbound: Outbound) async throws {
        server.metrics.pulled(on: channel, token: session.token, cursor: pull.sinceRevision)
        let snapshot = try await storeCall { try await server.store.snapshot() }
        let (head, horizon) = (snapshot.head, snapshot.horizon)
        switch PullDecision.decide(pull, storeID: server.storeID, head: head, horizon: horizon) {
        case .snapshotRequired(let reason):
            logger.debug("snapshot required", metadata: ["reason": "\(reason)", "since": "\(pull.sinceRevision)"])
            try await outbound.write(.snapshotRequired(SnapshotRequired(
                reason: reason, storeID: server.storeID, headRevision: head, horizon: horizon,
                message: PullDecision.explanation(reason, pull: pull, head: head, horizon: horizon))))
            return
        case .waitForChange:
            if try await waitAtHead(pull, session: session) { return }
        case .stream:
            break
        }
        try await streamChanges(pull, startHead: head, session: session, outbound: outbound)
        server.statistics.update { $0.pulls += 1 }
    }

    /// Parks a pull at the known head with the notifier (§5.3 step 4) without a store read or a task:
    /// the notifier's head never runs ahead of the store's, and at the head no horizon can be above
    /// the cursor (§7.5). A follower that re-parks after every change would otherwise cost a read per
    /// follower per change. The wait's outcome comes back to the conversation as `longPollEnded`.
    /// Nil when the head moved on (or the server began stopping) since the caller looked: the pull
    /// is then performed as any other.
    func park(_ pull: Pull, session: ConnectionStateMachine.Session) -> ParkedPull? {
        let notifier = server.notifier
        let wait = server.configuration.longPoll(requestedMillis: pull.waitMillis)
        let tail = TailRequest(
            cursor: pull.sinceRevision, encoding: ChangeEncoder.encoding(session: session, pull: pull),
            budget: server.configuration.batchBudget(requested: pull.budget), channel: channel)
        let id = notifier.makeID()
        let channel = self.channel
        let immediate = notifier.park(id, forRevisionAbove: pull.sinceRevision, timeout: TimeAmount(wait), on: channel.eventLoop, tail: tail) { outcome in
            switch outcome {
            case .answered, .cancelled:
                // Answered: the broadcaster's write reports `requestFinished`, which ends the park
                // too; one wake-up of the conversation per follower instead of two.
                return
            case .advanced, .timedOut, .shuttingDown:
                Connection.deliver(.longPollEnded(outcome, id: id), on: channel)
            }
        }
        guard immediate == nil else { return nil }
        server.metrics.pulled(on: channel, token: session.token, cursor: pull.sinceRevision)
        return ParkedPull(id: id, pull: pull, session: session)
    }

    /// A parked pull whose wait ended unanswered: what there is after its cursor, then CAUGHT_UP.
    func finishParkedPull(_ pull: Pull, session: ConnectionStateMachine.Session) async throws {
        try await streamChanges(pull, startHead: pull.sinceRevision, session: session, outbound: Outbound(channel: channel))
        server.statistics.update { $0.pulls += 1 }
    }

    /// The long poll (§5.3 step 4) of a pull that read the store first. True when the tail
    /// broadcaster answered it with the bytes it shares among the waiters at this cursor; false when
    /// the pull goes on to read on its own (the head moved but the shared batch does not suit it, the
    /// wait ended, or the server stops: a pull then completes with what there is, CAUGHT_UP, and the
    /// connection closes with SHUTTING_DOWN).
    private func waitAtHead(_ pull: Pull, session: ConnectionStateMachine.Session) async throws -> Bool {
        let wait = server.configuration.longPoll(requestedMillis: pull.waitMillis)
        let tail = TailRequest(
            cursor: pull.sinceRevision, encoding: ChangeEncoder.encoding(session: session, pull: pull),
            budget: server.configuration.batchBudget(requested: pull.budget), channel: channel)
        switch await server.notifier.wait(forRevisionAbove: pull.sinceRevision, timeout: TimeAmount(wait), on: channel.eventLoop, tail: tail) {
        case .answered:
            return true
        case .advanced, .timedOut, .shuttingDown:
            return false
        case .cancelled:
            throw CancellationError()
        }
    }

    /// Batches go straight to the channel so that the write's completion can be awaited: batch N is
    /// written while batch N+1 is read from the store, and N+1 is handed over only once N has reached
    /// the kernel. The async writer alone would accept batch after batch while the event loop has not
    /// yet marked the channel unwritable (with 50 clients on 2 cores, several per connection). The
    /// messages around the batches go through `outbound` only when no batch is in flight, so the
    /// order on the wire is the order of the code.
    ///
    /// A bootstrap leaves out the tombstones at or below `startHead`, the head its decision read: the
    /// client holds none of what they delete. Later ones are sent, for articles sent early and
    /// deleted while the bootstrap streams.
    private func streamChanges(_ pull: Pull, startHead: UInt64, session: ConnectionStateMachine.Session, outbound: Outbound) async throws {
        let encoder = ChangeEncoder(session: session, pull: pull)
        var reader = BatchReader(
            budget: server.configuration.batchBudget(requested: pull.budget),
            cursor: pull.sinceRevision,
            tombstonesAfter: pull.sinceRevision == 0 ? startHead : 0)
        var inFlight: EventLoopFuture<Void>? = nil
        func finishWrite() async throws {
            if let write = inFlight {
                inFlight = nil
                try await write.get()
            }
        }
        do {
            while true {
                let step = try await reader.next(encoder: encoder, connection: self)
                switch step {
                case .batch(let batch, let caughtUpAt):
                    try await finishWrite()
                    inFlight = channel.writeAndFlush(ServerMessage.batch(batch))
                    server.statistics.update {
                        $0.batches += 1
                        $0.changesSent += UInt64(batch.changes.count)
                    }
                    if let caughtUpAt {
                        try await finishWrite()
                        try await outbound.write(.caughtUp(headRevision: caughtUpAt))
                        return
                    }
                case .caughtUp(let head):
                    try await finishWrite()
                    try await outbound.write(.caughtUp(headRevision: head))
                    return
                case .purged(let snapshot):
                    try await finishWrite()
                    logger.debug("snapshot required", metadata: ["reason": "purged while streaming", "cursor": "\(reader.cursor)"])
                    try await outbound.write(.snapshotRequired(SnapshotRequired(
                        reason: .belowHorizon, storeID: server.storeID, headRevision: snapshot.head, horizon: snapshot.horizon,
                        message: PullDecision.purgedWhileStreaming(cursor: reader.cursor, horizon: snapshot.horizon))))
                    return
                }
            }
        } catch {
            // An error answer must not overtake the batch before it.
            try? await finishWrite()
            throw error
        }
    }
}

/// Reads the changes of one pull from the store, one budget-sized batch at a time. Every read
/// brings the store's snapshot of the same transaction, so a purge that lands mid-stream is seen
/// by the first read after it.
struct BatchReader {
    enum Step {
        /// A batch; `caughtUpAt` is set when the store held nothing more when it was read.
        case batch(Batch, caughtUpAt: UInt64?)
        case caughtUp(head: UInt64)
        /// The horizon passed what the stream still owes: tombstones it had to send are gone, so the
        /// pull ends in SNAPSHOT_REQUIRED (BELOW_HORIZON).
        case purged(StoreSnapshot)
    }

    let budget: Int
    private(set) var cursor: UInt64
    /// Tombstones at or below this revision are not sent (a bootstrap's starting head; 0 otherwise).
    let tombstonesAfter: UInt64
    /// Running estimate of one change's payload size, to ask the store for about a batch of rows.
    private var averageChangeSize = 2_048

    static let maxRowsPerRead = 2_000

    init(budget: Int, cursor: UInt64, tombstonesAfter: UInt64) {
        self.budget = budget
        self.cursor = cursor
        self.tombstonesAfter = tombstonesAfter
    }

    mutating func next(encoder: ChangeEncoder, connection: Connection) async throws(RequestFailure) -> Step {
        var changes: [EncodedChange] = []
        // The whole frame stays within the budget: a budget that is a power of two (the client's
        // default) then fills NIO's buffers, which are powers of two, instead of just overflowing them.
        var size = Frame.lengthFieldSize + Frame.headerSize + ChangeEncoder.batchHeaderSize
        var after = cursor
        // The head of the read that found nothing more: every change up to it has been read, so
        // CAUGHT_UP may name it (§5.5).
        var exhaustedAt: UInt64? = nil
        filling: while true {
            let limit = min(Self.maxRowsPerRead, max(1, (budget - size) / max(1, averageChangeSize) + 1))
            let page = try await connection.storeCall {
                try await connection.server.store.changes(after: after, limit: limit, tombstonesAfter: tombstonesAfter)
            }
            // Tombstones above max(after, tombstonesAfter) are owed; at or below the horizon they are gone.
            if page.snapshot.horizon > max(after, tombstonesAfter) {
                return .purged(page.snapshot)
            }
            let rows = page.changes
            if rows.isEmpty {
                exhaustedAt = page.snapshot.head
                break
            }
            try await connection.loadDictionaries(for: rows, encoder: encoder)
            for row in rows {
                let change: EncodedChange
                do {
                    change = try encoder.encode(row) { connection.server.dictionaries.cached(id: $0) }
                } catch {
                    connection.logger.error("cannot decode stored article '\(row.id)' at revision \(row.revision): \(error)")
                    throw RequestFailure(.internalError, "the server cannot read article '\(row.id)' from its store")
                }
                let changeSize = change.payloadSize
                averageChangeSize = (averageChangeSize * 7 + changeSize) / 8
                // Always at least one change, however large (§5.3); rows read past the budget are
                // dropped and read again for the next batch, so a newer version is never missed.
                if !changes.isEmpty, size + changeSize > budget { break filling }
                changes.append(change)
                size += changeSize
                after = row.revision
            }
            if rows.count < limit {
                exhaustedAt = page.snapshot.head
                break
            }
        }
        guard let last = changes.last else {
            return .caughtUp(head: max(exhaustedAt ?? cursor, cursor))
        }
        let batch = Batch(fromRevision: cursor, toRevision: last.revision, changes: EncodedChange.assemble(changes))
        cursor = last.revision
        return .batch(batch, caughtUpAt: exhaustedAt.map { max($0, last.revision) })
    }
}

extension Connection {
    /// Dictionaries needed to inflate documents for a client without the DICTIONARY feature.
    func loadDictionaries(for rows: [StoredChange], encoder: ChangeEncoder) async throws(RequestFailure) {
        for row in rows {
            guard let id = encoder.dictionaryNeededToInflate(row), server.dictionaries.cached(id: id) == nil else { continue }
            let found = try await storeCall { try await server.dictionaries.dictionary(id: id) }
            if found == nil {
                logger.error("article '\(row.id)' names dictionary \(id), which the store does not hold")
                throw RequestFailure(.internalError, "the server's store misses a dictionary it needs")
            }
        }
    }
}
