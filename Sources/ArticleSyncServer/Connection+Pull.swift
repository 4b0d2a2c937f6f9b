import ArticleStore
import ArticleSyncProtocol
import NIOCore

extension Connection {
    /// PROTOCOL.md §5.3. Batches are fetched, written and released one at a time: the next batch is read
    /// from the store only once the writer has taken the previous one, and the writer suspends while the
    /// socket is not writable. A slow client therefore holds at most about two batches of server memory.
    func performPull(_ pull: Pull, session: ConnectionStateMachine.Session, outbound: Outbound) async throws {
        let head = try await storeCall { try await server.store.head() }
        let horizon = try await storeCall { try await server.store.horizon() }
        switch PullDecision.decide(pull, storeID: server.storeID, head: head, horizon: horizon) {
        case .snapshotRequired(let reason):
            logger.debug("snapshot required", metadata: ["reason": "\(reason)", "since": "\(pull.sinceRevision)"])
            try await outbound.write(.snapshotRequired(SnapshotRequired(
                reason: reason, storeID: server.storeID, headRevision: head, horizon: horizon,
                message: PullDecision.explanation(reason, pull: pull, head: head, horizon: horizon))))
            return
        case .waitForChange:
            let wait = server.configuration.longPoll(requestedMillis: pull.waitMillis)
            switch await server.notifier.wait(forRevisionAbove: pull.sinceRevision, timeout: TimeAmount(wait), on: channel.eventLoop) {
            case .advanced, .timedOut:
                break
            case .cancelled:
                throw CancellationError()
            case .shuttingDown:
                throw RequestFailure(.shuttingDown, "the server is shutting down")
            }
        case .stream:
            break
        }
        try await streamChanges(pull, session: session, outbound: outbound)
        server.statistics.update { $0.pulls += 1 }
    }

    private func streamChanges(_ pull: Pull, session: ConnectionStateMachine.Session, outbound: Outbound) async throws {
        let encoder = ChangeEncoder(session: session, pull: pull)
        var reader = BatchReader(
            budget: server.configuration.batchBudget(requested: pull.budget),
            cursor: pull.sinceRevision,
            includeTombstones: pull.sinceRevision != 0)
        while true {
            let step = try await reader.next(encoder: encoder, connection: self)
            switch step {
            case .batch(let batch, let caughtUpAt):
                try await outbound.write(.batch(batch))
                server.statistics.update {
                    $0.batches += 1
                    $0.changesSent += UInt64(batch.changes.count)
                }
                if let caughtUpAt {
                    try await outbound.write(.caughtUp(headRevision: caughtUpAt))
                    return
                }
            case .caughtUp(let head):
                try await outbound.write(.caughtUp(headRevision: head))
                return
            }
        }
    }
}

/// Reads the changes of one pull from the store, one budget-sized batch at a time.
struct BatchReader {
    enum Step {
        /// A batch; `caughtUpAt` is set when the store held nothing more when it was read.
        case batch(Batch, caughtUpAt: UInt64?)
        case caughtUp(head: UInt64)
    }

    let budget: Int
    private(set) var cursor: UInt64
    let includeTombstones: Bool
    /// Running estimate of one change's payload size, to ask the store for about a batch of rows.
    private var averageChangeSize = 2_048

    static let maxRowsPerRead = 2_000

    init(budget: Int, cursor: UInt64, includeTombstones: Bool) {
        self.budget = budget
        self.cursor = cursor
        self.includeTombstones = includeTombstones
    }

    mutating func next(encoder: ChangeEncoder, connection: Connection) async throws(RequestFailure) -> Step {
        // The head is read before the changes: when the read finds nothing more, every change up to this
        // head has been sent, so CAUGHT_UP may name it (§5.5).
        let head = try await connection.storeCall { try await connection.server.store.head() }
        var changes: [Change] = []
        var size = ChangeEncoder.batchHeaderSize
        var after = cursor
        var storeExhausted = false
        filling: while true {
            let limit = min(Self.maxRowsPerRead, max(1, (budget - size) / max(1, averageChangeSize) + 1))
            let rows = try await connection.storeCall {
                try await connection.server.store.changes(after: after, limit: limit, includeTombstones: includeTombstones)
            }
            if rows.isEmpty {
                storeExhausted = true
                break
            }
            try await connection.loadDictionaries(for: rows, encoder: encoder)
            for row in rows {
                let change: Change
                do {
                    change = try encoder.encode(row) { connection.server.dictionaries.cached(id: $0) }
                } catch {
                    connection.logger.error("cannot decode stored article '\(row.id)' at revision \(row.revision): \(error)")
                    throw RequestFailure(.internalError, "the server cannot read article '\(row.id)' from its store")
                }
                let changeSize = ChangeEncoder.payloadSize(of: change)
                averageChangeSize = (averageChangeSize * 7 + changeSize) / 8
                // Always at least one change, however large (§5.3); rows read past the budget are
                // dropped and read again for the next batch, so a newer version is never missed.
                if !changes.isEmpty, size + changeSize > budget { break filling }
                changes.append(change)
                size += changeSize
                after = row.revision
            }
            if rows.count < limit {
                storeExhausted = true
                break
            }
        }
        guard let last = changes.last else {
            return .caughtUp(head: max(head, cursor))
        }
        let batch = Batch(fromRevision: cursor, toRevision: last.revision, changes: changes)
        cursor = last.revision
        return .batch(batch, caughtUpAt: storeExhausted ? max(head, cursor) : nil)
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
