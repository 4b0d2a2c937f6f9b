import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Foundation

public struct ReplicaStatus: Sendable {
    public var path: String
    public var exists: Bool
    public var storeID: StoreID?
    public var cursor: UInt64
    public var articleCount: Int
    /// A mirror keeps the server's compressed documents and no search index; a reading replica
    /// keeps the text and the index. nil when there is no replica.
    public var isMirror: Bool?
    /// The replica file and its WAL, in bytes.
    public var sizeOnDisk: Int64 = 0
    /// The last pull that reached CAUGHT_UP (the replica records it), nil when none was recorded.
    public var lastPull: PullRecord?
    /// A pull left beside the replica (stopped, or refused by the deletion guard): the revision it
    /// reached and the changes it holds; the next pull resumes it.
    public var stage: (cursor: UInt64, changes: Int)?
    /// What the next pull would bring, counted in articles: new, changed and deleted ones (nil
    /// when not counted: no server, another store, or more than `countLimit` revisions behind).
    public var pending: (new: Int, changed: Int, deleted: Int)?
    /// nil when the server was not asked or could not be reached.
    public var server: Welcome?
    /// Live articles on the server at its head (VERIFY), when it answered.
    public var serverArticleCount: UInt64?
    public var serverError: String?
    /// The exit code that `serverError` maps to: `status` reports the replica and still fails.
    public var serverErrorStatus: ExitStatus?

    /// How many revisions the replica lags, when the server is reachable and holds the same store.
    /// Each revision changed one article, so this many articles at most are to fetch (fewer when
    /// an article changed twice); the protocol has no cheap count of distinct articles.
    public var behind: UInt64? {
        guard let server, storeID == nil || storeID == server.storeID else { return nil }
        return server.headRevision > cursor ? server.headRevision - cursor : 0
    }

    public var followsAnotherStore: Bool {
        guard let server, let storeID else { return false }
        return storeID != server.storeID
    }
}

public enum StatusReporter {
    /// The replica's state, plus the server's head when `configuration` is given and it answers.
    public static func status(replicaPath: String, configuration: ClientConfiguration?) async throws -> ReplicaStatus {
        var status = ReplicaStatus(path: replicaPath, exists: Replica.exists(at: replicaPath), storeID: nil, cursor: 0, articleCount: 0)
        if status.exists {
            let store = try Replica.openExisting(at: replicaPath)
            do {
                let state = try await replicaSnapshot(of: store, path: replicaPath)
                status.storeID = state.upstreamStoreID
                status.cursor = state.cursor
                status.articleCount = Int(state.articleCount)
                status.isMirror = !store.fullTextIndex
                status.lastPull = try? await store.lastPull()
                if let stage = try? await store.stageState() {
                    status.stage = (stage.cursor, (try? await store.stagedChangeCount()) ?? 0)
                }
            } catch {
                try? store.close()
                throw error
            }
            // Measured closed: an open store has a WAL that its close folds back into the file.
            try? store.close()
            status.sizeOnDisk = sizeOnDisk(of: replicaPath)
        }
        if let configuration {
            do {
                let cursor = status.cursor
                let storeID = status.storeID
                let (welcome, count, pending) = try await SyncConnection.withConnection(configuration) { connection in
                    // The server's count at its head is one cheap request (its digest log); a server
                    // that refuses it still has its head reported.
                    let result = try? await connection.verify(atRevision: VerifyResult.headRevision)
                    let count = result.flatMap { $0.status == .ok ? $0.articleCount : nil }
                    // Revisions are not articles (one changed twice is fetched once, a tombstone for
                    // one not held is nothing): the changes themselves tell, without their text.
                    let head = connection.welcome.headRevision
                    var pending: (new: Int, changed: Int, deleted: Int)? = nil
                    if count != nil, storeID == connection.welcome.storeID, head > cursor, head - cursor <= countLimit {
                        let preview = try PullPreview(syncer: Syncer(configuration: configuration, replicaPath: replicaPath))
                        defer { preview.close() }
                        pending = try await preview.countPending(on: connection)
                    }
                    return (connection.welcome, count, pending)
                }
                status.server = welcome
                status.serverArticleCount = count
                status.pending = pending
            } catch let error as ClientError {
                status.serverError = error.message
                status.serverErrorStatus = error.status
            }
        }
        return status
    }

    /// Beyond this many revisions behind, status does not count the articles (it would download
    /// the changes' ids of a long lead just to print a number).
    public static let countLimit: UInt64 = 20_000

    /// The file and its WAL: the data. The shared-memory index (-shm) is left out: it comes and
    /// goes with open connections, and an unchanged replica must report an unchanged size.
    static func sizeOnDisk(of path: String) -> Int64 {
        [path, path + "-wal"].reduce(0) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
            return total + size
        }
    }
}
