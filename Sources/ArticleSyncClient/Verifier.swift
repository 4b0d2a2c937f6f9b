import ArticleStore
import ArticleSyncProtocol

/// The outcome of comparing a replica with the server's store at the replica's cursor (§5.10).
public struct VerifyReport: Sendable {
    public var cursor: UInt64
    public var localCount: UInt64
    public var localDigest: Hash32
    public var serverStoreID: StoreID
    public var replicaStoreID: StoreID?
    public var server: VerifyResult
    /// Human sentences, empty when the replica is exact.
    public var differences: [String]
    public var isExact: Bool { differences.isEmpty }
}

public struct Verifier: Sendable {
    public var configuration: ClientConfiguration
    public var replicaPath: String

    public init(configuration: ClientConfiguration, replicaPath: String) {
        self.configuration = configuration
        self.replicaPath = replicaPath
    }

    public func verify() async throws -> VerifyReport {
        let store = try Replica.openExisting(at: replicaPath)
        defer { try? store.close() }
        // Cursor, count and digest from one read: a pull committing meanwhile cannot mix two states.
        let state = try await replicaSnapshot(of: store, path: replicaPath)
        let local = state.digestState
        return try await SyncConnection.withConnection(configuration) { connection in
            let result = try await connection.verify(atRevision: state.cursor)
            var differences: [String] = []
            let replicaStore = state.upstreamStoreID.map { StoreID(bytes: $0) }
            if let replicaStore, replicaStore != connection.welcome.storeID {
                differences.append("the replica follows store \(replicaStore), the server holds store \(connection.welcome.storeID) (the next pull re-bootstraps)")
            } else {
                switch result.status {
                case .ok:
                    if result.articleCount != local.articleCount {
                        differences.append("article count: replica \(local.articleCount), server \(result.articleCount) at revision \(state.cursor)")
                    }
                    if result.digest.bytes != local.digest {
                        differences.append("digest: replica \(hexString(local.digest)), server \(result.digest) at revision \(state.cursor)")
                    }
                case .belowHorizon:
                    differences.append("the server can no longer describe revision \(state.cursor) (it purged older history); pull, then verify again")
                case .aheadOfHead:
                    differences.append("the replica's cursor \(state.cursor) is ahead of the server's head \(result.revision) (the server's store was restored from an older copy)")
                }
            }
            return VerifyReport(
                cursor: state.cursor, localCount: local.articleCount, localDigest: Hash32(bytes: local.digest),
                serverStoreID: connection.welcome.storeID, replicaStoreID: replicaStore, server: result,
                differences: differences)
        }
    }
}
