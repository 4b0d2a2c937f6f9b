import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Foundation

/// One change a pull would make to the replica.
public struct PlannedChange: Sendable, Hashable {
    public var revision: UInt64
    public var id: String
    /// nil for a deletion.
    public var title: String?
    public var kind: ArrivalKind

    public init(revision: UInt64, id: String, title: String?, kind: ArrivalKind) {
        self.revision = revision
        self.id = id
        self.title = title
        self.kind = kind
    }
}

/// What `pull --dry-run` found: the changes a pull would make now, none of them made.
public struct DryRunReport: Sendable {
    public var storeID: StoreID
    /// The replica's cursor (0 when there is no replica) and the server's head.
    public var cursor: UInt64
    public var head: UInt64
    /// How many articles the pull would add, change and delete.
    public var added = 0
    public var changed = 0
    public var deleted = 0
    /// Article bytes as sent (compressed).
    public var bytes = 0
    public var replicaArticles = 0
    /// The server cannot resume the replica: a pull would rebuild it (what it would hold is not
    /// previewed).
    public var snapshotRequired: SnapshotRequired? = nil
    /// The pull would be refused by the mass-deletion guard (no `--force`).
    public var guardWouldRefuse = false
    /// The changes, read back a page at a time (none when the replica would be rebuilt).
    var latest: LatestChanges? = nil
    var pageSize = SyncOptions.defaultDryRunPageSize

    public func count(_ kind: ArrivalKind) -> Int {
        switch kind {
        case .new: added
        case .changed: changed
        case .deleted: deleted
        }
    }

    /// Each article once, with its last change, in revision order; only a page of them is held
    /// at a time.
    public func forEachChange(_ body: (PlannedChange) throws -> Void) throws {
        guard let latest else { return }
        var after: UInt64 = 0
        while true {
            let page: [LatestChange]
            do {
                page = try latest.page(after: after, limit: pageSize)
            } catch {
                throw ClientError.temporaryTable("\(error)")
            }
            for change in page {
                guard let kind = change.kind else { continue }
                try body(PlannedChange(revision: change.revision, id: change.id, title: change.title, kind: kind))
            }
            guard page.count == pageSize, let last = page.last else { return }
            after = last.revision
        }
    }
}

/// The server's current copy of one article, as `articlesync diff` compares it.
public enum ServerCopy: Sendable {
    /// Nothing changed it since the replica's cursor: the server holds what the replica holds.
    case asReplica
    case article(source: [UInt8], revision: UInt64)
    case deleted(revision: UInt64)
}

extension Syncer {
    /// `pull --dry-run`: downloads what a pull would apply, decodes it (every article checked
    /// against its content hash, as a pull does), and reports what it would add, change and
    /// delete. Nothing is written: not the replica (which is not created when missing), not its
    /// stage, not a dictionary it lacks. The last change of each article goes to a table in
    /// SQLite's temporary file (`LatestChanges`), not to memory: a full pull has one per article.
    /// Deltas are not asked for, so every title can be read without a base.
    public func dryRun() async throws -> DryRunReport {
        try await SyncConnection.withConnection(configuration) { connection in
            self.onEvent(.connected(connection.welcome))
            let preview = try PullPreview(syncer: self)
            defer { preview.close() }
            return try await preview.dryRun(on: connection)
        }
    }

    /// The server's copy of `id`: the last change of it after the replica's cursor, read from a
    /// PULL that nothing is applied from (the protocol has no request for a single article).
    public func serverCopy(of id: String) async throws -> ServerCopy {
        try await SyncConnection.withConnection(configuration) { connection in
            let preview = try PullPreview(syncer: self)
            defer { preview.close() }
            return try await preview.serverCopy(of: id, on: connection)
        }
    }
}

/// A PULL read without applying it. Dictionaries the replica lacks are fetched into memory only.
final class PullPreview {
    let syncer: Syncer
    let store: ReplicaReader?
    var dictionaries: [UInt32: [UInt8]] = [:]
    var fetched = 0

    init(syncer: Syncer) throws {
        self.syncer = syncer
        guard Replica.exists(at: syncer.replicaPath) else {
            store = nil
            return
        }
        do {
            store = try ReplicaReader(path: syncer.replicaPath)
        } catch {
            throw ClientError.replica(syncer.replicaPath, "\(error)")
        }
    }

    func close() { try? store?.close() }

    var path: String { syncer.replicaPath }

    func snapshot() async throws -> ReplicaSnapshot? {
        guard let store else { return nil }
        do {
            return try store.snapshot()
        } catch {
            throw ClientError.replica(path, "cannot read its state: \(error)")
        }
    }

    /// Which of `keys` the replica holds live (none without a replica).
    private func liveKeys(among keys: some Sequence<ArticleKey>) throws -> Set<ArticleKey> {
        do {
            return try store?.liveKeys(among: keys) ?? []
        } catch {
            throw ClientError.replica(path, "cannot read its articles: \(error)")
        }
    }

    private struct Latest {
        var revision: UInt64
        var title: String?
        var source: [UInt8]?
    }

    /// A change read by a dry run, not yet recorded.
    private typealias Pending = (key: ArticleKey, revision: UInt64, title: String?)

    private enum Outcome {
        case caughtUp(UInt64)
        case snapshotRequired(SnapshotRequired)
    }

    func dryRun(on connection: SyncConnection) async throws -> DryRunReport {
        let state = try await snapshot()
        var report = DryRunReport(storeID: connection.welcome.storeID, cursor: state?.cursor ?? 0, head: connection.welcome.headRevision)
        report.replicaArticles = Int(state?.articleCount ?? 0)
        let pageSize = max(1, syncer.options.dryRunPageSize)
        report.pageSize = pageSize
        let latest: LatestChanges
        do {
            latest = try LatestChanges()
        } catch {
            throw ClientError.temporaryTable("\(error)")
        }
        // Nothing is applied, so what the replica holds of an article cannot change meanwhile: each
        // page is looked up as it is recorded, and listing the table needs the replica no more.
        var page: [Pending] = []
        page.reserveCapacity(pageSize)
        let outcome = try await read(on: connection, state: state, only: nil, report: &report) { key, change in
            page.append((key, change.revision, change.title))
            if page.count == pageSize { try record(&page, in: latest) }
        }
        switch outcome {
        case .snapshotRequired(let snapshot):
            report.snapshotRequired = snapshot
            return report
        case .caughtUp(let head):
            report.head = head
        }
        try record(&page, in: latest)
        do {
            (report.added, report.changed, report.deleted) = try latest.counts()
        } catch {
            throw ClientError.temporaryTable("\(error)")
        }
        report.latest = latest
        report.guardWouldRefuse = !syncer.options.force && report.replicaArticles > 0
            && report.deleted > syncer.options.deletionLimit(of: report.replicaArticles)
        return report
    }

    /// Records `page` with what each change would do to the replica as it is, and empties it.
    private func record(_ page: inout [Pending], in latest: LatestChanges) throws {
        guard !page.isEmpty else { return }
        let live = try liveKeys(among: page.lazy.map(\.key))
        do {
            try latest.record(page.map { LatestChange(revision: $0.revision, id: $0.key.id, title: $0.title, live: live.contains($0.key)) })
        } catch {
            throw ClientError.temporaryTable("\(error)")
        }
        page.removeAll(keepingCapacity: true)
    }

    func serverCopy(of id: String, on connection: SyncConnection) async throws -> ServerCopy {
        let state = try await snapshot()
        var report = DryRunReport(storeID: connection.welcome.storeID, cursor: state?.cursor ?? 0, head: connection.welcome.headRevision)
        var found: Latest? = nil
        let outcome = try await read(on: connection, state: state, only: ArticleKey(id), report: &report) { _, change in found = change }
        if case .snapshotRequired = outcome {
            // The replica cannot be resumed: every live article comes again, from revision 0.
            let fresh = try await read(on: connection, state: nil, only: ArticleKey(id), report: &report) { _, change in found = change }
            if case .snapshotRequired(let snapshot) = fresh {
                throw ClientError.protocolViolation("SNAPSHOT_REQUIRED for a pull from revision 0 (\(snapshot.reason))")
            }
            guard let found else { return .deleted(revision: 0) }
            return found.source.map { .article(source: $0, revision: found.revision) } ?? .deleted(revision: found.revision)
        }
        guard let found else { return state == nil ? .deleted(revision: 0) : .asReplica }
        return found.source.map { .article(source: $0, revision: found.revision) } ?? .deleted(revision: found.revision)
    }

    /// What a pull would do, counted from the ids and tombstones alone (nothing is inflated): the
    /// articles to fetch (new or changed) and the live ones to delete. Nil when the server cannot
    /// resume the replica.
    func countPending(on connection: SyncConnection) async throws -> (new: Int, changed: Int, deleted: Int)? {
        guard let state = try await snapshot() else { return nil }
        try await connection.startPull(
            Pull(storeID: state.upstreamStoreID ?? .none, sinceRevision: state.cursor, budget: syncer.options.budget, waitMillis: 0, flags: []))
        var cursor = state.cursor
        var tombstone: [ArticleKey: Bool] = [:]
        while true {
            switch try await connection.nextPullEvent() {
            case .batch(let batch):
                try SyncSession.check(batch, cursor: cursor)
                cursor = batch.toRevision
                for change in batch.changes {
                    if case .tombstone = change { tombstone[ArticleKey(change.id)] = true } else { tombstone[ArticleKey(change.id)] = false }
                }
            case .caughtUp(let head):
                guard head >= cursor else {
                    throw ClientError.protocolViolation("CAUGHT_UP at \(head) after a batch up to \(cursor)")
                }
                let live = try liveKeys(among: tombstone.keys)
                var counts = (new: 0, changed: 0, deleted: 0)
                for (key, deleted) in tombstone {
                    switch (deleted, live.contains(key)) {
                    case (false, false): counts.new += 1
                    case (false, true): counts.changed += 1
                    case (true, true): counts.deleted += 1
                    case (true, false): break
                    }
                }
                return counts
            case .snapshotRequired:
                return nil
            }
        }
    }

    /// Sends one PULL from the replica's cursor (`state`, nil: from 0) and hands each change on,
    /// decoded, in order; `only` decodes and hands on that article alone.
    private func read(
        on connection: SyncConnection, state: ReplicaSnapshot?, only: ArticleKey?, report: inout DryRunReport,
        _ take: (ArticleKey, Latest) throws -> Void
    ) async throws -> Outcome {
        let since = state?.cursor ?? 0
        let storeID = state?.upstreamStoreID ?? .none
        try await connection.startPull(Pull(storeID: storeID, sinceRevision: since, budget: syncer.options.budget, waitMillis: 0, flags: []))
        syncer.onEvent(.pulling(fromRevision: since, headRevision: connection.welcome.headRevision, rebootstrap: false))
        var cursor = since
        while true {
            switch try await connection.nextPullEvent() {
            case .batch(let batch):
                try SyncSession.check(batch, cursor: cursor)
                try SyncSession.checkDecodedSize(of: batch, budget: syncer.options.budget)
                cursor = batch.toRevision
                report.bytes += batch.dataBytes
                let wanted = batch.changes.filter { only == nil || ArticleKey($0.id) == only }
                try await ensureDictionaries(ChangeDecoder.dictionaryIDs(in: wanted[...]))
                let decoder = ChangeDecoder(dictionaries: dictionaries, bases: [:], keepCompressed: only == nil)
                let decoded: [ReplicaChange]
                switch await SyncSession.decodeResult(wanted, with: decoder) {
                case .success(let changes): decoded = changes
                case .failure(.invalid(let why)), .failure(.dictionaryMismatch(let why, _)): throw ClientError.protocolViolation(why)
                case .failure(.missingBase(let id)): throw ClientError.protocolViolation("a delta for \(id) came to a pull that asked for none")
                }
                for change in decoded {
                    var source: [UInt8]? = nil
                    if case .put(_, _, let article, _, _) = change { source = article.source }
                    try take(ArticleKey(change.id), Latest(revision: change.revision, title: change.title, source: source))
                }
            case .caughtUp(let head):
                guard head >= cursor else {
                    throw ClientError.protocolViolation("CAUGHT_UP at \(head) after a batch up to \(cursor)")
                }
                return .caughtUp(head)
            case .snapshotRequired(let snapshot):
                return .snapshotRequired(snapshot)
            }
        }
    }

    /// The replica's dictionaries, else the server's, held in memory only.
    private func ensureDictionaries(_ ids: Set<UInt32>) async throws {
        var missing: [UInt32] = []
        for id in ids.sorted() where dictionaries[id] == nil {
            if let bytes = try store?.dictionary(id: id) {
                dictionaries[id] = bytes
            } else {
                missing.append(id)
            }
        }
        guard !missing.isEmpty else { return }
        guard fetched + missing.count <= SyncSession.maxFetchedDictionaries else {
            throw ClientError.protocolViolation("the server names more dictionaries than a store's pull may need (\(SyncSession.maxFetchedDictionaries))")
        }
        fetched += missing.count
        let fetchedNow = try await SyncConnection.withConnection(syncer.configuration) { side in
            var result: [(UInt32, [UInt8])] = []
            for id in missing { result.append((id, try await side.dictionary(id: id))) }
            return result
        }
        for (id, bytes) in fetchedNow { dictionaries[id] = bytes }
    }
}

extension ChangeKind {
    public init(_ arrival: ArrivalKind) {
        switch arrival {
        case .new: self = .added
        case .changed: self = .changed
        case .deleted: self = .deleted
        }
    }
}

extension PlannedChange {
    public var item: ChangeItem { ChangeItem(ChangeKind(kind), id: id, title: title) }
}

extension AppliedChange {
    /// The itemized line of an applied change; nil for a deletion of an article the replica did
    /// not hold (nothing happened to it).
    public var item: ChangeItem? {
        switch kind {
        case .put(let title): return ChangeItem(arrival == .changed ? .changed : .added, id: id, title: title)
        case .delete: return arrival == .deleted ? ChangeItem(.deleted, id: id) : nil
        }
    }
}
