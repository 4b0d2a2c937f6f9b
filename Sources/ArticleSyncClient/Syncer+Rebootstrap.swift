import ArticleModel
import ArticleStore
import ArticleSyncProtocol

extension SyncSession {
    /// PROTOCOL.md §5.6: builds a fresh replica beside the old one, checks the mass-deletion guard,
    /// then swaps the files with one rename. Killed half-way, the old replica is untouched and the
    /// next pull resumes the half-built copy (it records the store it follows).
    func rebootstrap(on connection: SyncConnection, snapshot first: SnapshotRequired, report: inout PullReport) async throws -> RebootstrapReport {
        var snapshot = first
        let before = Int(try await replicaSnapshot(of: store, path: path).articleCount)
        let limit = options.deletionLimit(of: before)

        // Cheap early refusal: if the server holds fewer articles than the guard allows us to keep,
        // no download can make the swap acceptable.
        if !options.force && before > 0 {
            let atHead = try await connection.verify(atRevision: VerifyResult.headRevision)
            // A count beyond Int holds more than we do: no early refusal (and no trap on a wire value).
            if atHead.status == .ok, let serverCount = Int(exactly: atHead.articleCount), before - serverCount > limit {
                throw guardRefusal(removed: before - serverCount, before: before, snapshot: snapshot, atLeast: true)
            }
        }

        let tempPath = Replica.bootstrapPath(for: path)
        var temp = try await openBootstrapReplica(at: tempPath, following: snapshot.storeID)
        try await deferIndexIfBootstrapping(
            temp, path: tempPath, cursor: try await replicaSnapshot(of: temp, path: tempPath).cursor, head: snapshot.headRevision)
        var acceptDeltas = connection.welcome.features.contains(.delta)
        var restarts = 0
        pulling: while true {
            let state = try await replicaSnapshot(of: temp, path: tempPath)
            emit(.pulling(fromRevision: state.cursor, headRevision: snapshot.headRevision, rebootstrap: true))
            let outcome: StreamOutcome
            do {
                outcome = try await Self.inBulkIfFarBehind(temp, cursor: state.cursor, head: snapshot.headRevision, report: &report) {
                    try await stream(
                        into: temp, on: connection, storeID: snapshot.storeID, since: state.cursor,
                        acceptDeltas: acceptDeltas, waitMillis: 0, guarded: false, report: &$0)
                }
            } catch {
                try? temp.close()
                throw error
            }
            switch outcome {
            case .caughtUp(let head):
                report.cursor = head
                break pulling
            case .missingBase(let id):
                acceptDeltas = false
                emit(.retryingWithoutDeltas(reason: "the new replica does not hold the base version of \(id)"))
            case .snapshotRequired(let again):
                // The server's store changed again while we copied it: start the copy over, a few times.
                restarts += 1
                try? temp.close()
                guard restarts < 3 else {
                    throw ClientError(.unavailable, "the server's store keeps changing identity (\(again.message)); try again later")
                }
                Replica.remove(tempPath)
                snapshot = again
                temp = try await openBootstrapReplica(at: tempPath, following: again.storeID)
                try await deferIndexIfBootstrapping(
                    temp, path: tempPath, cursor: try await replicaSnapshot(of: temp, path: tempPath).cursor, head: again.headRevision)
            }
        }

        let removed = try await store.liveArticles(missingFrom: tempPath)
        let after = Int(try await replicaSnapshot(of: temp, path: tempPath).articleCount)
        if !options.force && removed > limit {
            try? temp.close()  // kept: `pull --force` finishes from it without downloading again
            throw guardRefusal(removed: removed, before: before, snapshot: snapshot, atLeast: false)
        }
        // `--keep-deleted`: what the swap drops (and what the old replica kept) stays, as kept articles.
        if let keepAt = keepDeletedAt {
            do {
                try await temp.adoptDeleted(fromReplicaAt: path, deletedAt: keepAt)
            } catch {
                try? temp.close()
                throw ClientError.replica(tempPath, "cannot keep the articles the re-bootstrap removes: \(error)")
            }
        }
        var differences = ChangeReport(itemized: false)
        do {
            let lists = options.listsRebootstrapDifferences
            let onEvent = syncer.onEvent
            try await store.forEachDifference(to: tempPath) { difference in
                let item = ChangeItem(ChangeKind(difference.kind), id: difference.id, title: difference.title)
                differences.record(item)
                if lists { onEvent(.rebootstrapDifference(item)) }
            }
        } catch {
            try? temp.close()
            throw ClientError.replica(path, "cannot compare with its re-bootstrapped copy: \(error)")
        }
        // The old replica stays searchable while the new one's index is built.
        do {
            try await buildPendingIndex(of: temp, path: tempPath)
        } catch {
            try? temp.close()
            throw error
        }
        do {
            try temp.close()
            try store.close()
        } catch {
            throw ClientError.replica(path, "cannot close before the swap: \(error)")
        }
        try Replica.swap(tempPath, into: path)
        store = try Replica.open(at: path, fullTextIndex: fullTextIndex)
        let result = RebootstrapReport(
            reason: snapshot.reason, before: before, after: after, removed: removed, added: differences.added, changed: differences.changed)
        emit(.rebootstrapped(result))
        return result
    }

    /// The half-built copy from an interrupted re-bootstrap is resumed when it follows the same store.
    private func openBootstrapReplica(at tempPath: String, following storeID: StoreID) async throws -> ReplicaStore {
        if Replica.exists(at: tempPath) {
            let existing = try Replica.open(at: tempPath, fullTextIndex: fullTextIndex)
            if let state = try? await existing.snapshot(), state.upstreamStoreID == storeID {
                return existing
            }
            try? existing.close()
            Replica.remove(tempPath)
        }
        return try Replica.open(at: tempPath, fullTextIndex: fullTextIndex)
    }

    private func guardRefusal(removed: Int, before: Int, snapshot: SnapshotRequired, atLeast: Bool) -> ClientError {
        let percent = before == 0 ? 0 : Int((Double(removed) * 100 / Double(before)).rounded())
        let limit = Int((options.deletionGuardFraction * 100).rounded())
        let deletes = "\(atLeast ? "at least " : "")\(removed) of the replica's \(before) articles (\(percent)%)"
        if snapshot.reason == .storeMismatch {
            // Another server, or a server whose store was recreated: the two look alike from here,
            // and for the first a --force would swap the whole replica for a stranger's archive.
            let server = syncer.configuration.address
            return ClientError(
                .guardRefused,
                """
                \(server) holds another store (\(snapshot.storeID)) than the one this replica was pulled from: it is a different server, or its store was recreated. Pulling from it would delete \(deletes) and replace the replica with its copy; nothing was changed.
                  - If that is the wrong server, correct --server (`articlesync config show` says where the setting came from).
                  - To keep this replica and copy that server's archive too, pull it into a new file: --replica OTHER.sqlite.
                  - Only if this server's store replaced the old one on purpose: `articlesync pull --force` replaces the replica with it.
                """)
        }
        let why: String
        switch snapshot.reason {
        case .storeMismatch: why = "the server's store was recreated"
        case .belowHorizon: why = "the replica is older than the server's horizon"
        case .aheadOfServer: why = "the server's store was restored from an older copy"
        }
        return ClientError(
            .guardRefused,
            "re-bootstrapping would delete \(atLeast ? "at least " : "")\(removed) of the replica's \(before) articles (\(percent)%, more than the \(limit)% limit) because \(why); nothing was changed. Re-run with --force to accept, or --max-delete-percent to raise the limit")
    }
}
