import ArticleStore
import ArticleSyncProtocol
import Foundation
import NIOCore

/// The pull engine: brings a replica up to date with a server (PROTOCOL.md §5.3-§5.6, §7.4).
///
/// Each batch is checked (no gap, increasing revisions), decoded and verified against its content
/// hashes, then applied together with the new cursor in one store transaction, so a client killed at
/// any instant resumes from the last committed batch. Decoding batch N+1 overlaps with committing
/// batch N, and NIO keeps reading frames meanwhile (bounded by the channel's back-pressure window).
public struct Syncer: Sendable {
    public var configuration: ClientConfiguration
    public var replicaPath: String
    public var options: SyncOptions
    public var onEvent: @Sendable (SyncEvent) -> Void

    public init(
        configuration: ClientConfiguration,
        replicaPath: String,
        options: SyncOptions = SyncOptions(),
        onEvent: @escaping @Sendable (SyncEvent) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.replicaPath = replicaPath
        self.options = options
        self.onEvent = onEvent
    }

    /// Pulls every change since the replica's cursor (creating the replica on first use).
    public func pull() async throws -> PullReport {
        // The replica is opened (created) only once the server answered: a typo in --server must
        // not leave an empty replica behind.
        return try await SyncConnection.withConnection(configuration) { connection in
            self.onEvent(.connected(connection.welcome))
            let session = try SyncSession(syncer: self)
            defer { session.close() }
            let report = try await session.catchUp(on: connection, waitMillis: 0)
            await session.recordSuccess(report, server: connection.address)
            return report
        }
    }
}

/// The state of one sync run: the open replica (replaced by a re-bootstrap) and known dictionaries.
/// Confined to the task that runs the sync.
final class SyncSession {
    let syncer: Syncer
    var store: ReplicaStore
    var dictionaries: [UInt32: [UInt8]] = [:]
    /// Whether the replica (and a re-bootstrapped copy of it) keeps the full-text index.
    let fullTextIndex: Bool
    var options: SyncOptions { syncer.options }
    var path: String { syncer.replicaPath }

    init(syncer: Syncer) throws {
        self.syncer = syncer
        let path = syncer.replicaPath
        fullTextIndex = try syncer.options.fullTextIndex ?? (Replica.exists(at: path) ? Replica.hasFullTextIndex(at: path) : true)
        self.store = try Replica.open(at: path, fullTextIndex: fullTextIndex)
    }

    func close() {
        try? store.close()
    }

    func emit(_ event: SyncEvent) { syncer.onEvent(event) }

    /// Pulls until CAUGHT_UP, re-bootstrapping when the server cannot resume our cursor.
    func catchUp(on connection: SyncConnection, waitMillis: UInt32) async throws -> PullReport {
        let state = try await replicaSnapshot(of: store, path: path)
        var report = PullReport(storeID: connection.welcome.storeID, startCursor: state.cursor, cursor: state.cursor)
        var acceptDeltas = connection.welcome.features.contains(.delta)
        try await deferIndexIfBootstrapping(store, path: path, cursor: state.cursor, head: connection.welcome.headRevision)
        while true {
            let state = try await replicaSnapshot(of: store, path: path)
            let storeID = state.upstreamStoreID.map { StoreID(bytes: $0) } ?? .none
            emit(.pulling(fromRevision: state.cursor, headRevision: connection.welcome.headRevision, rebootstrap: false))
            let outcome = try await stream(
                into: store, on: connection, storeID: storeID, since: state.cursor,
                acceptDeltas: acceptDeltas, waitMillis: waitMillis, report: &report)
            switch outcome {
            case .caughtUp(let head):
                report.cursor = head
                try await buildPendingIndex(of: store, path: path)
                emit(.caughtUp(headRevision: head))
                return report
            case .missingBase(let id):
                // PROTOCOL.md §7.4: our copy of `id` is not the delta's base; the batch was discarded.
                acceptDeltas = false
                emit(.retryingWithoutDeltas(reason: "the replica does not hold the base version of \(id)"))
            case .snapshotRequired(let snapshot):
                emit(.snapshotRequired(snapshot))
                report.rebootstrap = try await rebootstrap(on: connection, snapshot: snapshot, report: &report)
                report.storeID = snapshot.storeID
                emit(.caughtUp(headRevision: report.cursor))
                return report
            }
        }
    }

    /// A bootstrap (cursor 0) of a reading replica applies its batches at mirror speed and builds
    /// the search index in bulk once caught up. A replica whose index is already pending (an
    /// earlier pull stopped before building it) gets it built at the end of this pull.
    func deferIndexIfBootstrapping(_ target: ReplicaStore, path: String, cursor: UInt64, head: UInt64) async throws {
        guard fullTextIndex else { return }
        do {
            if try await target.isFullTextIndexPending() {
                if cursor > 0 { emit(.searchIndexPending) }
            } else if cursor == 0 && head > 0 {
                try await target.deferFullTextIndex()
            }
        } catch {
            throw ClientError.replica(path, "cannot prepare its search index: \(error)")
        }
    }

    /// Builds the search index when it is pending, in one transaction with clearing the flag.
    func buildPendingIndex(of target: ReplicaStore, path: String) async throws {
        guard fullTextIndex else { return }
        let onEvent = syncer.onEvent
        do {
            guard try await target.isFullTextIndexPending() else { return }
            try await target.buildFullTextIndex { done, total in onEvent(.indexing(done: done, total: total)) }
        } catch {
            throw ClientError.replica(path, "cannot build its search index: \(error)")
        }
        emit(.indexBuilt)
    }

    enum StreamOutcome {
        case caughtUp(UInt64)
        case missingBase(String)
        case snapshotRequired(SnapshotRequired)
    }

    /// Sends one PULL and applies its whole response to `target`.
    func stream(
        into target: ReplicaStore,
        on connection: SyncConnection,
        storeID: StoreID,
        since: UInt64,
        acceptDeltas: Bool,
        waitMillis: UInt32,
        report: inout PullReport
    ) async throws -> StreamOutcome {
        let upstream = connection.welcome.storeID
        try await connection.startPull(
            Pull(storeID: storeID, sinceRevision: since, budget: options.budget, waitMillis: waitMillis,
                 flags: acceptDeltas ? .acceptDeltas : []))
        var cursor = since
        // The commit of the previous batch, still running while we decode the next one.
        var committing: Task<Void, any Error>? = nil
        let onEvent = syncer.onEvent
        let path = self.path
        func finishCommit() async throws {
            guard let task = committing else { return }
            committing = nil
            do {
                try await task.value
            } catch {
                throw ClientError.replica(path, "cannot apply a batch: \(error)")
            }
        }
        do {
            while true {
                switch try await connection.nextPullEvent() {
                case .batch(let batch):
                    try Self.check(batch, cursor: cursor)
                    let changes: [ReplicaChange]
                    do {
                        changes = try await decode(batch, target: target)
                    } catch ChangeDecoder.Failure.missingBase(let id) {
                        try await finishCommit()
                        try await drain(connection)
                        return .missingBase(id)
                    } catch ChangeDecoder.Failure.invalid(let why) {
                        throw ClientError.protocolViolation(why)
                    }
                    try await finishCommit()
                    let applied = AppliedBatch(
                        fromRevision: batch.fromRevision, toRevision: batch.toRevision,
                        changes: changes.map(\.summary), bytes: batch.dataBytes)
                    report.applied += changes.count { if case .put = $0 { true } else { false } }
                    report.deleted += changes.count { if case .delete = $0 { true } else { false } }
                    report.bytes += applied.bytes
                    let upstreamBytes = upstream.bytes
                    let cursorAfter = batch.toRevision
                    committing = Task {
                        try await target.applyBatch(changes, upstreamStoreID: upstreamBytes, cursor: cursorAfter)
                        onEvent(.batchApplied(applied))
                    }
                    cursor = batch.toRevision
                case .caughtUp(let head):
                    try await finishCommit()
                    guard head >= cursor else {
                        throw ClientError.protocolViolation("CAUGHT_UP at \(head) after a batch up to \(cursor)")
                    }
                    // Also records the upstream store when nothing was sent (an empty store).
                    let state = try await replicaSnapshot(of: target, path: path)
                    if head != state.cursor || state.upstreamStoreID != upstream.bytes {
                        do {
                            try await target.applyBatch([], upstreamStoreID: upstream.bytes, cursor: head)
                        } catch {
                            throw ClientError.replica(path, "cannot record the cursor: \(error)")
                        }
                    }
                    return .caughtUp(head)
                case .snapshotRequired(let snapshot):
                    try await finishCommit()
                    return .snapshotRequired(snapshot)
                }
            }
        } catch {
            // Never leave a commit running behind our back: it finishes (or fails) before we return.
            try? await finishCommit()
            throw error
        }
    }

    /// PROTOCOL.md §5.4: no gap, no reorder.
    static func check(_ batch: Batch, cursor: UInt64) throws {
        guard batch.fromRevision == cursor else {
            throw ClientError.protocolViolation("a batch starts after revision \(batch.fromRevision), expected \(cursor)")
        }
        guard let last = batch.changes.last, last.revision == batch.toRevision else {
            throw ClientError.protocolViolation("a batch's last change is not at its toRevision \(batch.toRevision)")
        }
        var previous = batch.fromRevision
        for change in batch.changes {
            guard change.revision > previous else {
                throw ClientError.protocolViolation("revisions in a batch do not increase (\(change.revision) after \(previous))")
            }
            previous = change.revision
        }
    }

    /// Reads and discards the rest of a PULL response.
    func drain(_ connection: SyncConnection) async throws {
        while true {
            switch try await connection.nextPullEvent() {
            case .batch: continue
            case .caughtUp, .snapshotRequired: return
            }
        }
    }

    func decode(_ batch: Batch, target: ReplicaStore) async throws -> [ReplicaChange] {
        try await ensureDictionaries(ChangeDecoder.dictionaryIDs(in: batch), store: target)
        var baseHashes: [String: [UInt8]] = [:]
        for case .article(let article) in batch.changes {
            guard case .delta(let baseHash) = article.encoding else { continue }
            baseHashes[article.id] = baseHash.bytes
        }
        // One read for the whole batch: a read per delta cost more than inflating it.
        var bases: [String: [UInt8]] = [:]
        for (id, stored) in try await target.articles(ids: Array(baseHashes.keys)) {
            // A missing or different base leaves `bases` without the id: the decoder reports it.
            if stored.contentHash == baseHashes[id] { bases[id] = stored.article.source }
        }
        let decoder = ChangeDecoder(dictionaries: dictionaries, bases: bases, keepCompressed: !fullTextIndex)
        return try await Self.decode(batch.changes, with: decoder)
    }

    /// Inflating and hashing is most of a bootstrap's CPU: a large batch is split into one slice per
    /// core, decoded in parallel (while the previous batch commits), and put back in order.
    static func decode(_ changes: [Change], with decoder: ChangeDecoder) async throws -> [ReplicaChange] {
        let slices = min(decodeParallelism, changes.count / minimumSlice)
        guard slices > 1 else { return try changes.map { change throws(ChangeDecoder.Failure) in try decoder.decode(change) } }
        let sliceLength = (changes.count + slices - 1) / slices
        return try await withThrowingTaskGroup(of: (Int, [ReplicaChange]).self) { group in
            for start in stride(from: 0, to: changes.count, by: sliceLength) {
                let slice = changes[start..<min(start + sliceLength, changes.count)]
                group.addTask { (start, try slice.map { change throws(ChangeDecoder.Failure) in try decoder.decode(change) }) }
            }
            var decoded: [(Int, [ReplicaChange])] = []
            for try await part in group { decoded.append(part) }
            return decoded.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    static let decodeParallelism = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
    /// Below this many changes per slice a task costs more than it saves.
    static let minimumSlice = 32

    /// Loads dictionaries from the replica, else fetches them. A PULL response is still streaming on
    /// the main connection and requests are strictly sequential, so the fetch uses a second,
    /// short-lived connection (dictionaries are rare: one per store generation).
    func ensureDictionaries(_ ids: Set<UInt32>, store target: ReplicaStore) async throws {
        var missing: [UInt32] = []
        for id in ids where dictionaries[id] == nil {
            if let bytes = try await target.dictionary(id: id) {
                dictionaries[id] = bytes
            } else {
                missing.append(id)
            }
        }
        guard !missing.isEmpty else { return }
        let fetched: [(UInt32, [UInt8])] = try await SyncConnection.withConnection(syncer.configuration) { side in
            var result: [(UInt32, [UInt8])] = []
            for id in missing { result.append((id, try await side.dictionary(id: id))) }
            return result
        }
        for (id, bytes) in fetched {
            dictionaries[id] = bytes
            try await target.saveDictionary(id: id, bytes: bytes)
        }
    }
}

func replicaSnapshot(of store: ReplicaStore, path: String) async throws -> ReplicaSnapshot {
    do {
        return try await store.snapshot()
    } catch {
        throw ClientError.replica(path, "cannot read its state: \(error)")
    }
}

extension ReplicaChange {
    var summary: AppliedChange {
        switch self {
        case .put(let id, let revision, let article, _, _): return AppliedChange(revision: revision, id: id, kind: .put(title: article.title))
        case .delete(let id, let revision): return AppliedChange(revision: revision, id: id, kind: .delete)
        }
    }
}

extension Batch {
    /// Article bytes as sent (compressed), for progress and reports.
    var dataBytes: Int {
        changes.reduce(0) { sum, change in
            if case .article(let article) = change { return sum + article.data.readableBytes }
            return sum + change.id.utf8.count
        }
    }
}

