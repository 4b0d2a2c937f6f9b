import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Foundation
import NIOCore

/// The pull engine: brings a replica up to date with a server (PROTOCOL.md §5.3-§5.6, §7.4).
///
/// Each batch is checked (no gap, increasing revisions, a bounded size once decoded), decoded and
/// verified against its content hashes, then applied together with the new cursor in one store
/// transaction, so a client killed at any instant resumes from the last committed batch. A large
/// batch is decoded and committed in slices (`BatchApplier`), so what the client holds does not
/// grow with what a server packs into one frame. Decoding the next slice overlaps with committing
/// the previous one, and NIO keeps reading frames meanwhile (bounded by the channel's
/// back-pressure window).
///
/// A pull that could delete articles (the replica holds some) is held back, in memory while small
/// (`HeldPull`), else in the replica's stage, and applied only once the mass-deletion guard has
/// seen all of it (ReplicaStore+Stage explains why); a bootstrap of an empty replica is applied as
/// it arrives.
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
    /// Dictionaries to decode with: read from the replica (each proven when it was kept) or fetched
    /// during this session, which stay in `unproven` until an article decodes through them to its
    /// content hash; only then are they kept, with that article's batch (ApplyOptions).
    var dictionaries: [UInt32: [UInt8]] = [:]
    var unproven: Set<UInt32> = []
    /// Dictionaries fetched during the current pull, against `maxFetchedDictionaries`.
    var fetchedThisPull = 0
    /// Dictionaries dropped after a mismatch and fetched again during the current pull: a second
    /// mismatch blames the article.
    var refetched: Set<UInt32> = []
    /// Whether the replica (and a re-bootstrapped copy of it) keeps the full-text index.
    let fullTextIndex: Bool
    /// An incremental pull records its arrivals in the replica (ReplicaStore+Log); a bootstrap does not.
    var logsArrivals = false
    /// Whether changes are decoded to their text for the index: not while it waits for a bulk build
    /// (a mirror's decoding then: the heading and the hash, the document kept as sent).
    var decodesText = true
    var options: SyncOptions { syncer.options }
    var path: String { syncer.replicaPath }

    init(syncer: Syncer) throws {
        self.syncer = syncer
        let path = syncer.replicaPath
        fullTextIndex = try syncer.options.fullTextIndex ?? (Replica.exists(at: path) ? Replica.hasFullTextIndex(at: path) : true)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try Replica.createPrivateDirectory(directory, for: path) }
        do {
            lock = try StoreLock(storeAt: path, for: .pull)
        } catch {
            throw ClientError(.failure, "\(error)")
        }
        do {
            self.store = try Replica.open(at: path, fullTextIndex: fullTextIndex)
        } catch {
            lock.release()
            throw error
        }
    }

    /// One pull at a time into a replica (a re-bootstrap's copy beside it included).
    private let lock: StoreLock

    func close() {
        try? store.close()
        lock.release()
    }

    func emit(_ event: SyncEvent) { syncer.onEvent(event) }

    /// A store names a new dictionary once per generation of its archive (§7.3): a handful in a
    /// store's life. A pull that needs more than this many it does not hold is not a store's.
    static let maxFetchedDictionaries = 16

    /// `--keep-deleted`: the time deletions of this pull are kept as of (Unix seconds).
    var keepDeletedAt: Int64? {
        options.keepDeletedDays == nil ? nil : Int64(Date().timeIntervalSince1970)
    }

    /// A pull this many revisions behind the server's head writes enough to have its WAL's
    /// checkpoints taken off the writer (`ReplicaStore.withCheckpointsBeside`).
    static let bulkPullRevisions: UInt64 = 10_000

    /// Runs `stream` into `replica`, with checkpoints beside the writer when it is
    /// `bulkPullRevisions` or more behind `head`.
    static func inBulkIfFarBehind(
        _ replica: ReplicaStore, cursor: UInt64, head: UInt64, report: inout PullReport,
        _ stream: (inout PullReport) async throws -> StreamOutcome
    ) async throws -> StreamOutcome {
        guard head > cursor && head - cursor >= bulkPullRevisions else { return try await stream(&report) }
        return try await replica.withCheckpointsBeside { try await stream(&report) }
    }

    /// Pulls until CAUGHT_UP, re-bootstrapping when the server cannot resume our cursor.
    func catchUp(on connection: SyncConnection, waitMillis: UInt32) async throws -> PullReport {
        fetchedThisPull = 0
        refetched = []
        let state = try await replicaSnapshot(of: store, path: path)
        var report = PullReport(storeID: connection.welcome.storeID, startCursor: state.cursor, cursor: state.cursor)
        logsArrivals = state.cursor > 0
        if let days = options.keepDeletedDays {
            do {
                report.expired = try await store.expireKept(deletedBefore: Int64(Date().timeIntervalSince1970) - Int64(days) * 86_400)
            } catch {
                throw ClientError.replica(path, "cannot expire its kept articles: \(error)")
            }
        }
        var acceptDeltas = connection.welcome.features.contains(.delta)
        try await deferIndexIfBootstrapping(store, path: path, cursor: state.cursor, head: connection.welcome.headRevision)
        // A bootstrap's progress counts articles, not revisions (a store with history has many
        // more revisions than articles): the server's count at its head is one cheap request.
        var expected: UInt64? = nil
        if options.countArticlesFirst && state.cursor == 0 && connection.welcome.headRevision > 0,
            let atHead = try? await connection.verify(atRevision: VerifyResult.headRevision), atHead.status == .ok
        {
            expected = atHead.articleCount
        }
        while true {
            let state = try await replicaSnapshot(of: store, path: path)
            let storeID = state.upstreamStoreID ?? .none
            emit(.pulling(
                fromRevision: state.cursor, headRevision: connection.welcome.headRevision, rebootstrap: false,
                articles: state.cursor == 0 ? expected : nil, indexAfter: fullTextIndex && state.cursor == 0))
            let stream = { (report: inout PullReport) in
                try await self.stream(
                    into: self.store, on: connection, storeID: storeID, since: state.cursor,
                    acceptDeltas: acceptDeltas, waitMillis: waitMillis, guarded: true, report: &report)
            }
            let outcome = try await Self.inBulkIfFarBehind(
                store, cursor: state.cursor, head: connection.welcome.headRevision, report: &report, stream)
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
    /// the search index in bulk once caught up. A replica whose index is already
    /// pending (an earlier pull stopped before building it) gets it built at the end of this pull.
    func deferIndexIfBootstrapping(_ target: ReplicaStore, path: String, cursor: UInt64, head: UInt64) async throws {
        guard fullTextIndex else { return }
        do {
            if try await target.isFullTextIndexPending() {
                if cursor > 0 { emit(.searchIndexPending) }
            } else if cursor == 0 && head > 0 {
                try await target.deferFullTextIndexToBulkBuild()
            }
            decodesText = try await !target.isFullTextIndexPending()
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
        decodesText = true
        emit(.indexBuilt)
    }

    enum StreamOutcome {
        case caughtUp(UInt64)
        case missingBase(String)
        case snapshotRequired(SnapshotRequired)
    }

    /// Sends one PULL and applies its whole response to `target`. `guarded`: the response passes
    /// the mass-deletion guard before any of it is applied (the replica itself; a re-bootstrap's
    /// copy has its own guard, on the swap).
    func stream(
        into target: ReplicaStore,
        on connection: SyncConnection,
        storeID: StoreID,
        since: UInt64,
        acceptDeltas: Bool,
        waitMillis: UInt32,
        guarded: Bool,
        report: inout PullReport
    ) async throws -> StreamOutcome {
        let upstream = connection.welcome.storeID
        let path = self.path
        // Hold the response back when applying it could delete something: in memory while it is
        // small (`HeldPull`), in the stage once it is not; resume a stage an earlier pull left
        // (killed, or refused by the guard) when it is of the same store.
        var staging = false
        var holding = false
        var held = HeldPull()
        var from = since
        if guarded {
            do {
                if let stage = try await target.stageState() {
                    if stage.upstreamStoreID == upstream && stage.cursor >= since {
                        staging = true
                        from = stage.cursor
                    } else {
                        try await target.discardStage()
                    }
                }
            } catch let error as ClientError {
                throw error
            } catch {
                throw ClientError.replica(path, "cannot read its staged pull: \(error)")
            }
            if !staging && !options.force {
                holding = try await replicaSnapshot(of: target, path: path).articleCount > 0
            }
        }
        try await connection.startPull(
            Pull(storeID: storeID, sinceRevision: from, budget: options.budget, waitMillis: waitMillis,
                 flags: acceptDeltas ? .acceptDeltas : []))
        var cursor = from
        let applier = BatchApplier(session: self, target: target, upstream: upstream, cursor: from, keepDeletedAt: keepDeletedAt)
        do {
            while true {
                switch try await connection.nextPullEvent() {
                case .batch(let batch):
                    try Self.check(batch, cursor: cursor)
                    try Self.checkDecodedSize(of: batch, budget: options.budget)
                    if holding {
                        held.append(batch)
                        if held.bytes > options.heldPullLimit {
                            try await spill(&held, into: target, upstream: upstream, through: nil)
                            holding = false
                            staging = true
                        }
                    } else if staging {
                        do {
                            try await target.stage(batch.changes.map(\.staged), upstreamStoreID: upstream, through: batch.toRevision)
                        } catch {
                            throw ClientError.replica(path, "cannot stage a batch: \(error)")
                        }
                    } else if case .missingBase(let id) = try await applier.apply(batch.changes[...], through: batch.toRevision, report: &report) {
                        try await applier.finish()
                        try await drain(connection)
                        return .missingBase(id)
                    }
                    cursor = batch.toRevision
                case .caughtUp(let head):
                    guard head >= cursor else {
                        throw ClientError.protocolViolation("CAUGHT_UP at \(head) after a batch up to \(cursor)")
                    }
                    if holding {
                        try await checkDeletionGuard(target, deleting: held.deletions(in: target, path: path)) {
                            try await self.spill(&held, into: target, upstream: upstream, through: head)
                        }
                        for batch in held.batches {
                            if case .missingBase(let id) = try await applier.apply(batch.changes[...], through: batch.toRevision, report: &report) {
                                try await applier.finish()
                                return .missingBase(id)
                            }
                        }
                        held = HeldPull()
                        try await applier.finish()
                    } else if staging {
                        if case .missingBase(let id) = try await applyStage(target, upstream: upstream, head: head, report: &report) {
                            return .missingBase(id)
                        }
                    } else {
                        try await applier.finish()
                    }
                    // Also records the upstream store when nothing was sent (an empty store).
                    let state = try await replicaSnapshot(of: target, path: path)
                    if head != state.cursor || state.upstreamStoreID != upstream {
                        do {
                            try await target.applyBatch([], upstreamStoreID: upstream, cursor: head)
                        } catch {
                            throw ClientError.replica(path, "cannot record the cursor: \(error)")
                        }
                    }
                    return .caughtUp(head)
                case .snapshotRequired(let snapshot):
                    try await applier.finish()
                    return .snapshotRequired(snapshot)
                }
            }
        } catch {
            // Never leave a commit running behind our back: it finishes (or fails) before we return.
            try? await applier.finish()
            throw error
        }
    }

    /// The whole response is in the stage: the guard decides, then the stage is applied in slices,
    /// each with its cursor. A refusal leaves the replica and the stage as they are (`--force`
    /// applies that stage without downloading it again).
    private func applyStage(_ target: ReplicaStore, upstream: StoreID, head: UInt64, report: inout PullReport) async throws -> ApplyOutcome {
        let path = self.path
        var cursor = try await replicaSnapshot(of: target, path: path).cursor
        do {
            if try await target.stageState() != nil || head > cursor {
                try await target.stage([], upstreamStoreID: upstream, through: head)
            }
        } catch {
            throw ClientError.replica(path, "cannot stage the end of the pull: \(error)")
        }
        let deletions: StagedDeletions
        do {
            deletions = try await target.stagedDeletions(naming: 10)
        } catch {
            throw ClientError.replica(path, "cannot count its staged deletions: \(error)")
        }
        try await checkDeletionGuard(target, deleting: deletions)
        let applier = BatchApplier(session: self, target: target, upstream: upstream, cursor: cursor, keepDeletedAt: keepDeletedAt)
        do {
            while true {
                let batch: (changes: [StagedChange], through: UInt64)?
                do {
                    batch = try await target.stagedBatch(after: cursor)
                } catch {
                    throw ClientError.replica(path, "cannot read its staged pull: \(error)")
                }
                guard let batch else { break }
                let changes = batch.changes.compactMap(Change.init)
                guard changes.count == batch.changes.count, !changes.isEmpty else {
                    throw ClientError.replica(path, "its staged pull is damaged (a change after revision \(cursor) cannot be read)")
                }
                if case .missingBase(let id) = try await applier.apply(changes[...], through: batch.through, report: &report) {
                    try await applier.finish()
                    try? await target.discardStage()
                    return .missingBase(id)
                }
                cursor = batch.through
            }
            try await applier.finish()
        } catch {
            try? await applier.finish()
            // Bad data in the stage must not be applied again by the next pull: it downloads afresh.
            if let error = error as? ClientError, error.status == .dataError || error.status == .ioError { try? await target.discardStage() }
            throw error
        }
        return .applied
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

    /// What a batch may decode to in all, checked before anything of it is inflated (a 34 KB frame
    /// of 1,000 documents of 16 MiB each once took the client past 8 GiB). The server fills a batch
    /// up to the budget we asked for in *compressed* bytes, so the decoded size is that times the
    /// articles' compression ratio (about 3 for news; the limit allows 16), and a batch always
    /// holds at least one change, however large (one article alone is never refused here: its
    /// size is bounded by `ChangeDecoder.largestDocument`). Memory does not depend on this limit
    /// (batches are decoded in slices): it only refuses a server that amplifies.
    static func checkDecodedSize(of batch: Batch, budget: UInt32) throws {
        var total = 0
        for change in batch.changes {
            let length = change.documentLength
            guard length <= ChangeDecoder.largestDocument else {
                throw ClientError.protocolViolation(
                    "article \(change.id) at revision \(change.revision) claims a document of \(length) bytes, more than any store holds (\(ChangeDecoder.largestDocument))")
            }
            total += length
        }
        let limit = Self.decodedBatchLimit(budget: budget)
        guard total <= limit || batch.changes.count == 1 else {
            throw ClientError.protocolViolation(
                "a batch of \(batch.changes.count) changes would decode to \(total) bytes, more than the \(limit) a batch may hold for the \(Self.effectiveBudget(budget))-byte budget asked for; nothing of it was applied")
        }
    }

    /// The PULL budget as the server applies it (§5.3: clamped, 0 = its default).
    static func effectiveBudget(_ budget: UInt32) -> Int {
        budget == 0 ? 1_048_576 : min(max(Int(budget), 4_096), 8_388_608)
    }

    /// At least 64 MiB, else 16 decoded bytes per budget byte.
    static func decodedBatchLimit(budget: UInt32) -> Int {
        max(64 << 20, 16 * effectiveBudget(budget))
    }

    /// The mass-deletion guard of every pull: the held-back response would delete more than the
    /// allowed share of the replica's live articles. `keep` runs before a refusal is thrown, so the
    /// refused pull is in the stage for `--force`.
    private func checkDeletionGuard(
        _ target: ReplicaStore, deleting deletions: StagedDeletions, keep: () async throws -> Void = {}
    ) async throws {
        guard !options.force else { return }
        let before = try await replicaSnapshot(of: target, path: path).articleCount
        guard deletions.count > options.deletionLimit(of: Int(clamping: before)) else { return }
        try await keep()
        let percent = before == 0 ? 0 : Int((Double(deletions.count) * 100 / Double(before)).rounded())
        let names = deletions.firstIDs.joined(separator: ", ")
            + (deletions.count > deletions.firstIDs.count ? " and \(deletions.count - deletions.firstIDs.count) more" : "")
        throw ClientError(
            .guardRefused,
            "this pull would delete \(deletions.count) of the replica's \(before) articles (\(percent)%, more than the \(Int((options.deletionGuardFraction * 100).rounded()))% limit): \(names); nothing was changed. The pull is kept beside the replica: re-run with --force to apply it without downloading it again, or --max-delete-percent to raise the limit")
    }

    /// Writes the batches held in memory to the stage, in order, each with its cursor; with
    /// `through`, the stage then reaches the end of the response (CAUGHT_UP's head).
    func spill(_ held: inout HeldPull, into target: ReplicaStore, upstream: StoreID, through head: UInt64?) async throws {
        do {
            for batch in held.batches {
                try await target.stage(batch.changes.map(\.staged), upstreamStoreID: upstream, through: batch.toRevision)
            }
            if let head { try await target.stage([], upstreamStoreID: upstream, through: head) }
        } catch {
            throw ClientError.replica(path, "cannot stage a batch: \(error)")
        }
        held = HeldPull()
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

    /// A slice decoded, with the dictionaries it proved: fetched ones to keep (`proven`), and kept
    /// ones whose bytes failed while the server's, fetched again, succeeded (`replacements`).
    struct DecodedSlice {
        var changes: [ReplicaChange]
        var proven: [UInt32: [UInt8]]
        var replacements: [UInt32: [UInt8]]
    }

    /// Decodes a slice of changes: loads (or fetches) the dictionaries it names and the delta
    /// bases it needs, and returns the replica changes with the dictionaries they proved. A
    /// dictionary that fails to decode an article to its content hash is fetched again, once: the
    /// same bytes again blame the article (bad data); other bytes that succeed replace the held
    /// ones (a forgery with the right Adler-32 is never trusted for more than what it decoded).
    func decode(_ changes: ArraySlice<Change>, target: ReplicaStore) async throws -> DecodedSlice {
        let named = ChangeDecoder.dictionaryIDs(in: changes)
        var baseHashes: [ArticleKey: [UInt8]] = [:]
        for case .article(let article) in changes {
            guard case .delta(let baseHash) = article.encoding else { continue }
            baseHashes[ArticleKey(article.id)] = baseHash.bytes
        }
        // One read for the whole slice: a read per delta cost more than inflating it.
        var bases: [ArticleKey: [UInt8]] = [:]
        for (key, stored) in try await target.articles(keys: Array(baseHashes.keys)) {
            // A missing or different base leaves `bases` without the id: the decoder reports it.
            if stored.contentHash == baseHashes[key] { bases[key] = stored.article.source }
        }
        var replacements: [UInt32: [UInt8]] = [:]
        while true {
            try await ensureDictionaries(named, store: target)
            let decoder = ChangeDecoder(dictionaries: dictionaries, bases: bases, keepCompressed: true, keepText: fullTextIndex && decodesText)
            switch await Self.decodeResult(Array(changes), with: decoder) {
            case .success(let decoded):
                var proven: [UInt32: [UInt8]] = [:]
                for id in named where unproven.contains(id) {
                    proven[id] = dictionaries[id]
                    unproven.remove(id)
                }
                return DecodedSlice(changes: decoded, proven: proven, replacements: replacements)
            case .failure(.dictionaryMismatch(let why, let id)):
                guard !refetched.contains(id) else { throw ClientError.protocolViolation(why) }
                refetched.insert(id)
                let held = dictionaries[id]
                guard let fresh = try await fetchDictionaries([id]).first?.1, fresh != held else {
                    throw ClientError.protocolViolation(why)
                }
                dictionaries[id] = fresh
                if !unproven.contains(id) { replacements[id] = fresh }
            case .failure(let failure):
                throw failure
            }
        }
    }

    static func decodeResult(_ changes: [Change], with decoder: ChangeDecoder) async -> Result<[ReplicaChange], ChangeDecoder.Failure> {
        do throws(ChangeDecoder.Failure) {
            return .success(try await decode(changes, with: decoder))
        } catch {
            return .failure(error)
        }
    }

    /// Inflating and hashing is most of a bootstrap's CPU: a large slice is split into one part per
    /// core, decoded in parallel (while the previous slice commits), and put back in order.
    static func decode(_ changes: [Change], with decoder: ChangeDecoder) async throws(ChangeDecoder.Failure) -> [ReplicaChange] {
        let slices = min(decodeParallelism, changes.count / minimumSlice)
        guard slices > 1 else {
            let inflater = DocumentInflater()
            return try changes.map { change throws(ChangeDecoder.Failure) in try decoder.decode(change, inflater: inflater) }
        }
        let sliceLength = (changes.count + slices - 1) / slices
        let parts = await withTaskGroup(of: (Int, Result<[ReplicaChange], ChangeDecoder.Failure>).self) { group in
            for start in stride(from: 0, to: changes.count, by: sliceLength) {
                let slice = changes[start..<min(start + sliceLength, changes.count)]
                group.addTask {
                    let inflater = DocumentInflater()
                    return (start, Result { () throws(ChangeDecoder.Failure) in try slice.map { change throws(ChangeDecoder.Failure) in try decoder.decode(change, inflater: inflater) } })
                }
            }
            var decoded: [(Int, Result<[ReplicaChange], ChangeDecoder.Failure>)] = []
            for await part in group { decoded.append(part) }
            return decoded.sorted { $0.0 < $1.0 }
        }
        var all: [ReplicaChange] = []
        all.reserveCapacity(changes.count)
        for (_, part) in parts { all += try part.get() }
        return all
    }

    static let decodeParallelism = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
    /// Below this many changes per slice a task costs more than it saves.
    static let minimumSlice = 32

    /// Loads dictionaries from the replica, else fetches them. A PULL response is still streaming on
    /// the main connection and requests are strictly sequential, so the fetch uses a second,
    /// short-lived connection (dictionaries are rare: one per store generation). A fetched one is
    /// only held (`unproven`) until an article proves it.
    func ensureDictionaries(_ ids: Set<UInt32>, store target: ReplicaStore) async throws {
        var missing: [UInt32] = []
        for id in ids.sorted() where dictionaries[id] == nil {
            if let bytes = try await target.dictionary(id: id) {
                dictionaries[id] = bytes
            } else {
                missing.append(id)
            }
        }
        guard !missing.isEmpty else { return }
        for (id, bytes) in try await fetchDictionaries(missing) {
            dictionaries[id] = bytes
            unproven.insert(id)
        }
    }

    /// Fetches dictionaries on a side connection, within the pull's cap.
    func fetchDictionaries(_ ids: [UInt32]) async throws -> [(UInt32, [UInt8])] {
        guard fetchedThisPull + ids.count <= Self.maxFetchedDictionaries else {
            throw ClientError.protocolViolation(
                "the server names \(fetchedThisPull + ids.count) dictionaries this pull does not hold, more than the \(Self.maxFetchedDictionaries) a store's pull may need; none was kept")
        }
        fetchedThisPull += ids.count
        return try await SyncConnection.withConnection(syncer.configuration) { side in
            var result: [(UInt32, [UInt8])] = []
            for id in ids { result.append((id, try await side.dictionary(id: id))) }
            return result
        }
    }
}

/// A guarded pull's response held in memory until CAUGHT_UP, when the guard counts its deletions
/// and it is applied as it came (each batch with its cursor). Most incremental pulls fit: they are
/// then written once, as before the guard existed. One that grows past `SyncOptions.heldPullLimit`
/// moves to the replica's stage (ReplicaStore+Stage), which also survives a killed pull; a pull
/// killed while held downloads its few megabytes again, the replica untouched.
struct HeldPull {
    private(set) var batches: [Batch] = []
    private(set) var bytes = 0

    mutating func append(_ batch: Batch) {
        batches.append(batch)
        bytes += batch.dataBytes
    }

    /// The replica's live articles the held changes would delete: ids whose last held change is a
    /// tombstone (one deleted and written again within the pull survives).
    func deletions(in target: ReplicaStore, path: String) async throws -> StagedDeletions {
        var last: [ArticleKey: Bool] = [:]
        for batch in batches {
            for change in batch.changes {
                if case .tombstone = change { last[ArticleKey(change.id)] = true } else { last[ArticleKey(change.id)] = false }
            }
        }
        let tombstones = last.compactMap { $0.value ? $0.key.id : nil }
        guard !tombstones.isEmpty else { return StagedDeletions(count: 0, firstIDs: []) }
        do {
            return try await target.liveArticles(among: tombstones, naming: 10)
        } catch {
            throw ClientError.replica(path, "cannot count the pull's deletions: \(error)")
        }
    }
}

enum ApplyOutcome {
    case applied
    case missingBase(String)
}

/// Applies a stream of changes in slices of bounded decoded size, each slice in one transaction with
/// the revision of its last change as cursor (the last slice of a batch with the batch's end).
/// Commits run one after the other, in order, on the writer's queue (`ReplicaStore.enqueueBatch`)
/// while the next slices are decoded: the writer is the pull's critical path, so it is kept fed.
/// What decoded slices hold, committing or waiting to, stays within `inFlightBytes`; a slice with
/// deltas (whose base a commit may write) waits for them all.
final class BatchApplier {
    /// Decoded bytes per slice (at least one change): a batch of the default budget (256 KiB sent,
    /// about 0.8 MB decoded) is one slice. With a reading replica's text and the copies SQLite
    /// makes of it, 4 MiB slices took a batch of 1.5 MB articles to 64 MB, 2 MiB ones to 58 MB.
    static let sliceBytes = 2 << 20
    /// What decoded slices may hold at once. A slice holding its text counts its decoded size; a
    /// mirror's holds the documents as sent (and their headings), so more of them fit.
    static let inFlightBytes = 4 << 20

    let session: SyncSession
    let target: ReplicaStore
    let upstream: StoreID
    let keepDeletedAt: Int64?
    /// Into the replica itself during an incremental pull (not a re-bootstrap's copy).
    let logsArrivals: Bool
    /// The cursor of the last slice handed to a commit.
    private var cursor: UInt64
    /// Commits handed over and not yet awaited, oldest first; a failure stops every later one in
    /// `chain` from committing.
    private var commits: [(pending: PendingCommit, bytes: Int)] = []
    private let chain = CommitChain()
    private var committingBytes: Int { commits.reduce(0) { $0 + $1.bytes } }

    init(session: SyncSession, target: ReplicaStore, upstream: StoreID, cursor: UInt64, keepDeletedAt: Int64?) {
        self.session = session
        self.target = target
        self.upstream = upstream
        self.cursor = cursor
        self.keepDeletedAt = keepDeletedAt
        logsArrivals = session.logsArrivals && target === session.store
    }

    /// Waits for every commit handed over (and reports the first failure).
    func finish() async throws {
        while !commits.isEmpty { try await waitForOldestCommit() }
    }

    private func waitForOldestCommit() async throws {
        let oldest = commits.removeFirst()
        do {
            _ = try await oldest.pending.value()
        } catch {
            // The later commits fail behind it without writing; none may run behind our back.
            for commit in commits { _ = try? await commit.pending.value() }
            commits = []
            throw ClientError.replica(session.path, "cannot apply a batch: \(error)")
        }
    }

    /// Applies `changes` (in increasing revision order, after the replica's cursor), the last of
    /// them ending at `cursorAfter`.
    func apply(_ changes: ArraySlice<Change>, through cursorAfter: UInt64, report: inout PullReport) async throws -> ApplyOutcome {
        var start = changes.startIndex
        let keepsText = session.fullTextIndex && session.decodesText
        while start < changes.endIndex {
            var end = start
            var bytes = 0
            var held = 0
            var hasDelta = false
            while end < changes.endIndex {
                let length = changes[end].documentLength
                if end > start && bytes + length > Self.sliceBytes { break }
                bytes += length
                held += keepsText ? length : changes[end].heldBytes
                if case .article(let article) = changes[end], case .delta = article.encoding { hasDelta = true }
                end += 1
            }
            let slice = changes[start..<end]
            while !commits.isEmpty && (hasDelta || committingBytes + held > Self.inFlightBytes) { try await waitForOldestCommit() }
            let decoded: SyncSession.DecodedSlice
            do {
                decoded = try await session.decode(slice, target: target)
            } catch ChangeDecoder.Failure.missingBase(let id) {
                return .missingBase(id)
            } catch ChangeDecoder.Failure.invalid(let why) {
                throw ClientError.protocolViolation(why)
            }
            if !decoded.replacements.isEmpty {
                // After the commits in flight: their documents are among those the replacement re-checks.
                try await finish()
                for (id, bytes) in decoded.replacements.sorted(by: { $0.key < $1.key }) {
                    do {
                        _ = try await target.replaceDictionary(id: id, with: bytes)
                    } catch {
                        throw ClientError.replica(session.path, "cannot replace dictionary \(String(id, radix: 16)): \(error)")
                    }
                }
            }
            let fromRevision = cursor
            let toRevision = end == changes.endIndex ? cursorAfter : slice.last!.revision
            let applied = AppliedBatch(
                fromRevision: fromRevision, toRevision: toRevision, changes: decoded.changes.map(\.summary),
                bytes: slice.reduce(0) { $0 + $1.dataBytes }, rebuilding: target !== session.store)
            report.applied += decoded.changes.count { if case .delete = $0 { false } else { true } }
            report.deleted += decoded.changes.count { if case .delete = $0 { true } else { false } }
            report.bytes += applied.bytes
            cursor = toRevision
            let target = self.target
            let upstream = self.upstream
            var options = ApplyOptions(
                keepDeletedAt: keepDeletedAt, dictionaries: decoded.proven, arrivedAt: logsArrivals ? Date().timeIntervalSince1970 : nil)
            options.expectsNewArticles = !logsArrivals
            options.sourcePaths = slice.compactMap { change in
                guard case .article(let article) = change, let path = article.sourcePath else { return nil }
                return SourcePath(id: article.id, path: path)
            }
            let onEvent = session.syncer.onEvent
            let pending = target.enqueueBatch(decoded.changes, upstreamStoreID: upstream, cursor: toRevision, options: options, in: chain) {
                arrivals in
                var applied = applied
                if !arrivals.isEmpty { applied.noteArrivals(arrivals) }
                onEvent(.batchApplied(applied))
            }
            commits.append((pending, held))
            start = end
        }
        return .applied
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
        case .putDocument(let id, let revision, let heading, _, _): return AppliedChange(revision: revision, id: id, kind: .put(title: heading.title))
        case .delete(let id, let revision): return AppliedChange(revision: revision, id: id, kind: .delete)
        }
    }
}

extension Change {
    /// What a decoded change holds when its text is not kept: the document as sent, and a heading
    /// (category and title, within the first bytes of the document).
    var heldBytes: Int {
        if case .article(let article) = self { return article.data.readableBytes + min(Int(article.documentLength), 512) }
        return id.utf8.count
    }

    /// Article bytes as sent (compressed), for progress and reports.
    var dataBytes: Int {
        if case .article(let article) = self { return article.data.readableBytes }
        return id.utf8.count
    }
}

extension Batch {
    /// Article bytes as sent (compressed), for progress and reports.
    var dataBytes: Int { changes.reduce(0) { $0 + $1.dataBytes } }
}
