import ArticleModel
import Foundation
import GRDB

extension SQLiteCanonicalStore {
    public func apply(_ writes: [StoreWrite]) async throws -> (head: UInt64, outcomes: [StoreWriteOutcome]) {
        // Hash, encode and compress before taking the writer: the transaction then only writes.
        let deflater = currentDeflater.withLock { $0 }
        let prepared: [Result<PreparedArticle?, Refusal>] = writes.map { write in
            if let problem = write.problem { return .failure(Refusal(reason: problem)) }
            guard case .put(let article) = write.operation else { return .success(nil) }
            let prepared = PreparedArticle(article: article, contentHash: StoreDigest.contentHash(of: article.source), deflater: deflater)
            guard prepared.documentLength <= ArticleCompression.maxDocumentLength else {
                return .failure(Refusal(
                    reason: "its document would be \(prepared.documentLength) bytes, above the limit of \(ArticleCompression.maxDocumentLength)"))
            }
            return .success(prepared)
        }
        return try await file.pool.write { db in
            var state = try MetaState.load(db)
            var outcomes: [StoreWriteOutcome] = []
            outcomes.reserveCapacity(writes.count)
            for (write, prepared) in zip(writes, prepared) {
                let existing = try ExistingRow.fetch(db, id: write.id)
                let current = existing?.liveRevision ?? 0
                let expectationHolds = write.expectedRevision == StoreWrite.anyRevision || write.expectedRevision == current
                switch prepared {
                case .failure(let refusal):
                    outcomes.append(StoreWriteOutcome(status: .invalid(reason: refusal.reason), revision: current))
                case .success(let prepared?):
                    if let existing, !existing.deleted, existing.contentHash == prepared.contentHash {
                        outcomes.append(StoreWriteOutcome(status: .unchanged, revision: current))
                    } else if !expectationHolds {
                        outcomes.append(StoreWriteOutcome(status: .conflict, revision: current))
                    } else {
                        let revision = try self.canonicalPut(db, id: write.id, prepared: prepared, existing: existing, state: &state)
                        outcomes.append(StoreWriteOutcome(status: .applied, revision: revision))
                    }
                case .success(nil):
                    guard let existing, !existing.deleted else {
                        outcomes.append(StoreWriteOutcome(status: .notFound, revision: 0))
                        continue
                    }
                    if !expectationHolds {
                        outcomes.append(StoreWriteOutcome(status: .conflict, revision: current))
                    } else {
                        let revision = try self.canonicalDelete(db, id: write.id, existing: existing, state: &state)
                        outcomes.append(StoreWriteOutcome(status: .applied, revision: revision))
                    }
                }
            }
            try state.save(db)
            return (state.head, outcomes)
        }
    }

    /// Why one write of a push is refused.
    struct Refusal: Error {
        var reason: String
    }
}
