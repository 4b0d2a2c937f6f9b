import ArticleStore
import Foundation

extension SyncSession {
    /// Records a pull that reached CAUGHT_UP in the replica it pulled into, for `status`. Best
    /// effort: the pull itself is done and committed, and a record that could not be written shows
    /// as an old time in `status`, which is the truth a monitor needs.
    func recordSuccess(_ report: PullReport, server: ServerAddress) async {
        let record = PullRecord(
            finishedAt: Date().timeIntervalSince1970, server: server.description, revision: report.cursor,
            applied: report.applied, deleted: report.deleted, rebootstrapRemoved: report.rebootstrap?.removed)
        try? await store.recordPull(record)
    }
}
