import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import NIOCore

extension Connection {
    /// PROTOCOL.md §5.7. Each entry is judged on its own: the server refuses a bad id, a repeated id or a
    /// bad source, the store a document it cannot hold (INVALID, that entry alone). The others go to the
    /// store in one transaction, and the answer leaves only after it committed; only a failing store
    /// makes the whole push an INTERNAL_ERROR.
    func performPush(_ push: Push, outbound: Outbound) async throws {
        var results = [PushResult.Entry?](repeating: nil, count: push.entries.count)
        var writes: [StoreWrite] = []
        var writeIndices: [Int] = []
        var invalidLiveIDs: [(index: Int, id: String)] = []
        // Ids are bytes (§7.1): NFC and NFD "café" are two articles, one key of a Set<String>.
        var seen = Set<ArticleKey>()
        for (index, entry) in push.entries.enumerated() {
            if let problem = ArticleID.problem(with: entry.id) {
                results[index] = PushResult.Entry(status: .invalid, revision: 0, message: problem)
                continue
            }
            guard seen.insert(ArticleKey(entry.id)).inserted else {
                results[index] = PushResult.Entry(status: .invalid, revision: 0, message: "the id '\(entry.id)' appears more than once in this push")
                invalidLiveIDs.append((index, entry.id))
                continue
            }
            switch entry.operation {
            case .put(let source):
                do {
                    let article = try SeedFormat.parse(Array(source.readableBytesView))
                    writes.append(StoreWrite(id: entry.id, expectedRevision: entry.expectedRevision, operation: .put(article)))
                    writeIndices.append(index)
                } catch {
                    results[index] = PushResult.Entry(status: .invalid, revision: 0, message: error.description)
                    invalidLiveIDs.append((index, entry.id))
                }
            case .delete:
                writes.append(StoreWrite(id: entry.id, expectedRevision: entry.expectedRevision, operation: .delete))
                writeIndices.append(index)
            }
        }

        let head: UInt64
        if writes.isEmpty {
            head = try await storeCall { try await server.store.snapshot().head }
        } else {
            let applied = try await storeCall { try await server.store.apply(writes) }
            guard applied.outcomes.count == writes.count else {
                logger.error("the store answered \(applied.outcomes.count) outcomes for \(writes.count) writes")
                throw RequestFailure(.internalError, "the server's store gave an inconsistent answer to the push")
            }
            head = applied.head
            for (outcome, index) in zip(applied.outcomes, writeIndices) {
                results[index] = PushResult.Entry(status: outcome.status.wire, revision: outcome.revision,
                                                  message: outcome.status.explanation(revision: outcome.revision))
            }
        }
        // An INVALID entry reports the article's current revision (0 when not live).
        if !invalidLiveIDs.isEmpty {
            let current = try await storeCall { try await server.store.liveRevisions(ofEach: invalidLiveIDs.map(\.id)) }
            for ((index, _), revision) in zip(invalidLiveIDs, current) { results[index]?.revision = revision }
        }
        server.notifier.publish(head: head)
        server.statistics.update { $0.pushes += 1 }
        let appliedCount = results.count { $0?.status == .applied }
        logger.info("push applied", metadata: ["entries": "\(push.entries.count)", "applied": "\(appliedCount)", "head": "\(head)"])
        let entries = results.compactMap { $0 }
        try await outbound.write(.pushResult(PushResult(headRevision: head, results: entries)))
    }

    /// PROTOCOL.md §5.9.
    func performVerify(atRevision requested: UInt64, outbound: Outbound) async throws {
        let revision = requested == VerifyResult.headRevision ? nil : requested
        let read = try await storeCall { try await server.store.digest(at: revision) }
        let head = read.snapshot.head
        let result: VerifyResult
        if let state = read.digest {
            result = VerifyResult(status: .ok, revision: state.revision, articleCount: state.articleCount, digest: state.digest)
        } else if let revision, revision > head {
            result = VerifyResult(status: .aheadOfHead, revision: head, articleCount: 0, digest: .zero)
        } else {
            result = VerifyResult(status: .belowHorizon, revision: head, articleCount: 0, digest: .zero)
        }
        try await outbound.write(.verifyResult(result))
    }
}

extension StoreWriteOutcome.Status {
    var wire: PushResult.Status {
        switch self {
        case .applied: return .applied
        case .unchanged: return .unchanged
        case .conflict: return .conflict
        case .notFound: return .notFound
        case .invalid: return .invalid
        }
    }

    func explanation(revision: UInt64) -> String {
        switch self {
        case .applied: return ""
        case .unchanged: return "the article is already stored with this content"
        case .conflict: return revision == 0 ? "the article is not live on the server" : "the article is at revision \(revision) on the server"
        case .notFound: return "no live article has this id"
        case .invalid(let reason): return reason
        }
    }
}
