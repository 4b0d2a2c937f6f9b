import ArticleStore
import ArticleSyncProtocol
import Logging
import NIOCore

/// What the broadcaster needs of a long poll parked at the head to answer it (PROTOCOL.md §5.3
/// step 4): the cursor, what decides each article's encoding, the budget, and the channel.
struct TailRequest: Sendable {
    /// The choices of `ChangeEncoder` that differ between clients at one cursor.
    struct Encoding: Sendable, Hashable {
        var deltas: Bool
        var dictionaries: Bool
        var sourcePaths: Bool
    }

    var cursor: UInt64
    var encoding: Encoding
    var budget: Int
    var channel: any Channel
}

/// Answers the long polls parked at the tail of the store when its head moves: the changes after
/// each distinct cursor are read once, encoded once per `TailRequest.Encoding`, and the same bytes
/// (one BATCH and its CAUGHT_UP in one shared buffer) are written to every waiter at that cursor. A
/// wake-up then costs one store read per distinct cursor, however many clients wait.
///
/// A waiter it cannot answer with those bytes is woken with `.advanced` and reads on its own as
/// before: the shared batch exceeds its budget, the tail holds more than one read's rows, the
/// horizon passed its cursor (its own read answers SNAPSHOT_REQUIRED), or the read failed.
///
/// Writing the response here, from the waiter's event loop, is what a long poll's own stream would
/// do: its last write reports `requestFinished` as `Connection.Outbound` does, so the conversation's
/// machine sees the same events in the same order.
final class TailBroadcaster: Sendable {
    struct Parked: Sendable {
        var request: TailRequest
        var resume: RevisionNotifier.Resume
    }

    /// Rows of one read; a tail longer than this is read by each waiter in budget-sized batches.
    static let maxRowsPerRead = 2_000

    private let store: any CanonicalStore
    private let dictionaries: DictionaryCache
    private let statistics: ServerStatistics
    private let metrics: ServerMetrics
    private let logger: Logger

    init(store: any CanonicalStore, dictionaries: DictionaryCache, statistics: ServerStatistics, metrics: ServerMetrics, logger: Logger) {
        self.store = store
        self.dictionaries = dictionaries
        self.statistics = statistics
        self.metrics = metrics
        self.logger = logger
    }

    /// The notifier hands over the waiters `head` woke; each is resumed exactly once from here.
    func headMoved(to head: UInt64, parked: [Parked]) {
        let movedAt = NIODeadline.now()
        statistics.update { $0.wakeUps += 1 }
        Task { await self.answer(parked, head: head, movedAt: movedAt) }
    }

    private func answer(_ parked: [Parked], head: UInt64, movedAt: NIODeadline) async {
        for (cursor, waiters) in Dictionary(grouping: parked, by: \.request.cursor) {
            await answer(waiters, at: cursor, head: head, movedAt: movedAt)
        }
    }

    private func answer(_ waiters: [Parked], at cursor: UInt64, head: UInt64, movedAt: NIODeadline) async {
        let page: ChangePage
        do {
            page = try await store.changes(after: cursor, limit: Self.maxRowsPerRead, tombstonesAfter: 0)
        } catch {
            logger.error("store operation failed: \(error)")
            Self.wake(waiters, head: head)
            return
        }
        statistics.update { $0.tailReads += 1 }
        guard page.snapshot.horizon <= cursor, !page.changes.isEmpty, page.changes.count < Self.maxRowsPerRead else {
            Self.wake(waiters, head: page.snapshot.head)
            return
        }
        for (encoding, group) in Dictionary(grouping: waiters, by: \.request.encoding) {
            guard let frames = await encode(page, after: cursor, encoding) else {
                Self.wake(group, head: page.snapshot.head)
                continue
            }
            var shared: [Parked] = []
            var own: [Parked] = []
            for waiter in group {
                // Always at least one change, however large (§5.3), as a waiter's own read would send it.
                if frames.batchLength <= waiter.request.budget || frames.changeCount == 1 {
                    shared.append(waiter)
                } else {
                    own.append(waiter)
                }
            }
            Self.wake(own, head: page.snapshot.head)
            send(frames, to: shared, movedAt: movedAt)
        }
    }

    /// One BATCH and its CAUGHT_UP, encoded into one buffer every waiter shares.
    struct Frames: Sendable {
        var bytes: ByteBuffer
        var batchLength: Int
        var changeCount: Int
    }

    private func encode(_ page: ChangePage, after cursor: UInt64, _ encoding: TailRequest.Encoding) async -> Frames? {
        let encoder = ChangeEncoder(
            deltasAllowed: encoding.deltas && cursor > 0, sinceRevision: cursor, dictionariesAllowed: encoding.dictionaries,
            sourcePathsAllowed: encoding.sourcePaths)
        var changes: [EncodedChange] = []
        changes.reserveCapacity(page.changes.count)
        var payload = ChangeEncoder.batchHeaderSize
        for row in page.changes {
            if let id = encoder.dictionaryNeededToInflate(row), dictionaries.cached(id: id) == nil {
                guard (try? await dictionaries.dictionary(id: id)) != nil else {
                    logger.error("article '\(row.id)' names dictionary \(id), which the store does not hold")
                    return nil
                }
            }
            do {
                let change = try encoder.encode(row) { dictionaries.cached(id: $0) }
                payload += change.payloadSize
                changes.append(change)
            } catch {
                logger.error("cannot decode stored article '\(row.id)' at revision \(row.revision): \(error)")
                return nil
            }
        }
        guard let last = changes.last else { return nil }
        let caughtUpAt = max(page.snapshot.head, last.revision)
        let batch = ServerMessage.batch(Batch(fromRevision: cursor, toRevision: last.revision, changes: EncodedChange.assemble(changes)))
        var bytes = ByteBufferAllocator().buffer(capacity: Frame.lengthFieldSize + Frame.headerSize + payload + 32)
        batch.encode(into: &bytes)
        let batchLength = bytes.readableBytes
        ServerMessage.caughtUp(headRevision: caughtUpAt).encode(into: &bytes)
        return Frames(bytes: bytes, batchLength: batchLength, changeCount: changes.count)
    }

    /// Writes the shared bytes on each waiter's event loop, all waiters of one loop in one turn of it.
    private func send(_ frames: Frames, to waiters: [Parked], movedAt: NIODeadline) {
        guard !waiters.isEmpty else { return }
        statistics.update {
            $0.pulls += UInt64(waiters.count)
            $0.batches += UInt64(waiters.count)
            $0.changesSent += UInt64(waiters.count * frames.changeCount)
            $0.sharedAnswers += UInt64(waiters.count)
        }
        let metrics = self.metrics
        let shared = SharedFrames(bytes: frames.bytes)
        for (_, group) in Dictionary(grouping: waiters, by: { ObjectIdentifier($0.request.channel.eventLoop) }) {
            let loop = group[0].request.channel.eventLoop
            loop.execute {
                for waiter in group {
                    let channel = waiter.request.channel
                    let written = loop.makePromise(of: Void.self)
                    written.futureResult.whenSuccess {
                        Connection.deliver(.requestFinished(error: nil), on: channel)
                        metrics.recordWakeUp(latency: NIODeadline.now() - movedAt)
                    }
                    channel.writeAndFlush(shared, promise: written)
                    waiter.resume(.answered)
                }
            }
        }
    }

    private static func wake(_ waiters: [Parked], head: UInt64) {
        for waiter in waiters { waiter.resume(.advanced(head: head)) }
    }
}

/// Frames already encoded, written as they are: the same buffer goes to many channels.
struct SharedFrames: Sendable {
    var bytes: ByteBuffer
}
