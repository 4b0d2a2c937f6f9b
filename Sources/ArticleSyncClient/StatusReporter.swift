import ArticleStore
import ArticleSyncProtocol

public struct ReplicaStatus: Sendable {
    public var path: String
    public var exists: Bool
    public var storeID: StoreID?
    public var cursor: UInt64
    public var articleCount: Int
    /// nil when the server was not asked or could not be reached.
    public var server: Welcome?
    public var serverError: String?
    /// The exit code that `serverError` maps to: `status` reports the replica and still fails.
    public var serverErrorStatus: ExitStatus?

    /// How many revisions the replica lags, when the server is reachable and holds the same store.
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
            defer { try? store.close() }
            let state = try await replicaSnapshot(of: store, path: replicaPath)
            status.storeID = state.upstreamStoreID.map { StoreID(bytes: $0) }
            status.cursor = state.cursor
            status.articleCount = Int(state.articleCount)
        }
        if let configuration {
            do {
                status.server = try await SyncConnection.withConnection(configuration) { $0.welcome }
            } catch let error as ClientError {
                status.serverError = error.message
                status.serverErrorStatus = error.status
            }
        }
        return status
    }
}
