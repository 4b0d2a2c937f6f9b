import ArticleModel
import ArticleStore
import ArticleSyncProtocol

/// The outcome of comparing a replica with the server's store at the replica's cursor (§5.10).
public struct VerifyReport: Sendable {
    public var cursor: UInt64
    /// The count and digest compared with the server's: with `deep`, recomputed from the rows;
    /// otherwise as the replica recorded them.
    public var localCount: UInt64
    public var localDigest: SHA256Hash
    public var serverStoreID: StoreID
    public var replicaStoreID: StoreID?
    public var server: VerifyResult
    /// Whether every article was read back and re-hashed (`verify --deep`).
    public var deep: Bool
    /// `deep`: the articles whose bytes are not what their content hash says, by id.
    public var damaged: [(id: String, reason: String)]
    /// Human sentences, empty when the replica is exact.
    public var differences: [String]
    public var isExact: Bool { differences.isEmpty }
}

public struct Verifier: Sendable {
    public var configuration: ClientConfiguration
    public var replicaPath: String
    /// Read every article back from its bytes instead of trusting the recorded count and digest.
    public var deep: Bool
    /// `deep`: articles read so far, of all.
    public var progress: @Sendable (_ done: Int, _ total: Int) -> Void

    public init(
        configuration: ClientConfiguration, replicaPath: String, deep: Bool = false,
        progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        self.replicaPath = replicaPath
        self.deep = deep
        self.progress = progress
    }

    /// Compares the replica with the server at the replica's cursor. Shallow, it compares the count
    /// and digest the replica keeps current as it applies batches: instant, and blind to bytes that
    /// changed under it (bit rot, a bad restore, an edit of the file). Deep, it first re-hashes
    /// every article from the bytes it holds (inflating a mirror's documents), recomputes the count
    /// and the digest from the rows, and compares those: any changed byte shows, named by article.
    public func verify() async throws -> VerifyReport {
        let store = try Replica.openExisting(at: replicaPath)
        defer { try? store.close() }
        var differences: [String] = []
        var damaged: [(id: String, reason: String)] = []
        let state: ReplicaSnapshot
        let localState: DigestState
        if deep {
            let audit: ReplicaAudit
            do {
                audit = try await store.audit(progress: progress)
            } catch {
                throw ClientError.replica(replicaPath, "cannot read it back: \(error)")
            }
            state = audit.recorded
            localState = DigestState(revision: state.cursor, articleCount: audit.articleCount, digest: audit.digest)
            damaged = audit.problems
            for problem in audit.problems { differences.append("article \(problem.id): \(problem.reason)") }
            if audit.articleCount != state.articleCount || audit.digest != state.digest {
                differences.append(
                    "the replica's rows hold \(audit.articleCount) articles with digest \(audit.digest.description.prefix(16))…, but it recorded \(state.articleCount) with digest \(state.digest.description.prefix(16))…")
            }
        } else {
            // Cursor, count and digest from one read: a pull committing meanwhile cannot mix two states.
            state = try await replicaSnapshot(of: store, path: replicaPath)
            localState = state.digestState
        }
        let local = localState
        let found = differences
        let named = damaged
        return try await SyncConnection.withConnection(configuration) { connection in
            var differences = found
            let result = try await connection.verify(atRevision: state.cursor)
            let replicaStore = state.upstreamStoreID
            if let replicaStore, replicaStore != connection.welcome.storeID {
                differences.append("the replica follows store \(replicaStore), the server holds store \(connection.welcome.storeID) (the next pull re-bootstraps)")
            } else {
                switch result.status {
                case .ok:
                    if result.articleCount != local.articleCount {
                        differences.append("article count: replica \(local.articleCount), server \(result.articleCount) at revision \(state.cursor)")
                    }
                    if result.digest != local.digest {
                        differences.append("digest: replica \(local.digest), server \(result.digest) at revision \(state.cursor)")
                    }
                case .belowHorizon:
                    differences.append("the server can no longer describe revision \(state.cursor) (it purged older history); pull, then verify again")
                case .aheadOfHead:
                    differences.append("the replica's cursor \(state.cursor) is ahead of the server's head \(result.revision) (the server's store was restored from an older copy)")
                }
            }
            return VerifyReport(
                cursor: state.cursor, localCount: local.articleCount, localDigest: local.digest,
                serverStoreID: connection.welcome.storeID, replicaStoreID: replicaStore, server: result, deep: deep,
                damaged: named, differences: differences)
        }
    }
}
