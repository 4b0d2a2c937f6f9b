import ArticleModel
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
import Foundation
import Synchronization
import Testing

/// Crashes, recreated stores and the mass-deletion guard, with real processes.
@Suite("resume, re-bootstrap and the deletion guard", .serialized)
struct RecoveryEndToEndTests {
    /// A replica's state after a crash must be exactly the server's store at the replica's cursor.
    static func expectExactAtCursor(_ sandbox: Sandbox, _ comment: String) async throws -> UInt64 {
        let report = try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica).verify()
        #expect(report.isExact, "\(comment): \(report.differences)")
        return report.cursor
    }

    @Test func aPullKilledWithSIGKILLResumesWithNothingLostOrAppliedTwice() async throws {
        // Enough one-article batches that the pull is still running well after the 30th, even when
        // the test process reads the child's output late on a loaded machine.
        let count = 1_500
        try await Sandbox.run(prepare: { try Corpus.write(count: count, to: $0.corpus, paragraphs: 3, noise: true) }) { sandbox in
            var cursors: [UInt64] = []
            // Kill right after the first committed batch, a few batches in, and further on; each
            // time the next batch is usually mid-commit (decoding and committing overlap).
            for killAfter in [1, 4, 12, 30] {
                let trigger = ChildProcess.Trigger(afterLine: killAfter) { jsonObject($0)?["event"] as? String == "batch" }
                let child = try sandbox.startClient(["pull", "--json", "--budget", "4096"], trigger: trigger)
                try await child.wait()
                #expect(child.signalledAt != nil, "the pull finished before it could be killed")
                cursors.append(try await Self.expectExactAtCursor(sandbox, "after SIGKILL at batch \(killAfter)"))
            }
            #expect(cursors == cursors.sorted(), "the cursor never moves back: \(cursors)")
            #expect(cursors.last! > 0)

            let final = try await sandbox.client(["pull", "--json"])
            #expect(final.status == 0, "\(final.stderr)")
            let done = try #require(final.lines.compactMap(jsonObject).last)
            #expect(done["startCursor"] as? Int == Int(cursors.last!))
            let store = try Replica.openExisting(at: sandbox.replica)
            #expect(try await store.snapshot().articleCount == count)
            try store.close()
            let report = try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica).verify()
            #expect(report.isExact)
            #expect(report.localCount == UInt64(count))
        }
    }

    @Test func aRecreatedServerStoreIsReBootstrappedAndSwappedIn() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 30, to: $0.corpus) }) { sandbox in
            let first = try await sandbox.syncer().pull()
            // The new store holds the same articles plus two: nothing is lost, so no guard trips.
            try FileManager.default.removeItem(atPath: sandbox.corpus)
            try Corpus.write(count: 32, to: sandbox.corpus)
            try await sandbox.server.recreate(importDirectory: sandbox.corpus)

            let events = EventLog()
            let second = try await sandbox.syncer(onEvent: events.record).pull()
            let rebootstrap = try #require(second.rebootstrap)
            #expect(rebootstrap.reason == .storeMismatch)
            #expect(rebootstrap.before == 30)
            #expect(rebootstrap.after == 32)
            #expect(rebootstrap.removed == 0)
            #expect(second.storeID != first.storeID)
            #expect(events.names.contains("snapshotRequired"))
            #expect(!FileManager.default.fileExists(atPath: sandbox.replica + ".bootstrap"))

            let report = try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica).verify()
            #expect(report.isExact, "\(report.differences)")
            #expect(report.replicaStoreID == report.serverStoreID)
        }
    }

    @Test func aReBootstrapListsHowTheReplicaChangedNotWhatTheCopyReceived() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 30, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            // The recreated store: article 1 edited, article 2 gone, article 40 new, the rest the same.
            try Data(Corpus.article(1, edit: 1).utf8).write(to: URL(fileURLWithPath: sandbox.corpus + "/\(Corpus.id(1)).txt"))
            try FileManager.default.removeItem(atPath: sandbox.corpus + "/\(Corpus.id(2)).txt")
            try Data(Corpus.article(40).utf8).write(to: URL(fileURLWithPath: sandbox.corpus + "/\(Corpus.id(40)).txt"))
            try await sandbox.server.recreate(importDirectory: sandbox.corpus)

            let pull = try await sandbox.client(["pull", "-v"])
            #expect(pull.status == 0, "\(pull.stderr)")
            let items = pull.lines.filter { $0.hasPrefix("+ ") || $0.hasPrefix("~ ") || $0.hasPrefix("- ") }
            #expect(items.count == 3, "\(pull.stdout)")
            #expect(items.contains { $0.hasPrefix("~ \(Corpus.id(1)) Meldung 1:") }, "\(pull.stdout)")
            #expect(items.contains("- \(Corpus.id(2))"), "\(pull.stdout)")
            #expect(items.contains { $0.hasPrefix("+ \(Corpus.id(40)) Meldung 40:") }, "\(pull.stdout)")
            #expect(pull.stdout.contains("re-bootstrapped: 1 added, 1 changed, 1 deleted against the replica before (30 articles downloaded"), "\(pull.stdout)")
            #expect(pull.stderr.contains("(30 before, 1 removed)"), "\(pull.stderr)")

            // The same in JSON, and an unchanged re-bootstrap lists nothing.
            try await sandbox.server.recreate(importDirectory: sandbox.corpus)
            let again = try await sandbox.client(["pull", "-v", "--json"])
            #expect(again.status == 0, "\(again.stderr)")
            let objects = again.lines.compactMap(jsonObject)
            #expect(!objects.contains { $0["event"] as? String == "item" }, "\(again.stdout)")
            let done = try #require(objects.last)
            #expect(done["rebootstrapped"] as? Bool == true && done["added"] as? Int == 0 && done["changed"] as? Int == 0 && done["removed"] as? Int == 0, "\(done)")
        }
    }

    @Test func theMassDeletionGuardRefusesUntilForced() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 20, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            let before = try await sandbox.client(["status", "--json"])
            let storeBefore = try #require(jsonObject(before.stdout)?["store"] as? String)

            // The recreated store lacks 5 of the 20 articles: 25% > the default 10%.
            try FileManager.default.removeItem(atPath: sandbox.corpus)
            try Corpus.write(count: 15, to: sandbox.corpus)
            try await sandbox.server.recreate(importDirectory: sandbox.corpus)

            let refused = try await sandbox.client(["pull"])
            #expect(refused.status == ExitStatus.guardRefused.rawValue)
            #expect(refused.stderr.contains("--force"))
            #expect(refused.stderr.contains("5 of the replica's 20"))
            let after = try await sandbox.client(["status", "--json"])
            let status = try #require(jsonObject(after.stdout))
            #expect(status["store"] as? String == storeBefore)
            #expect(status["articles"] as? Int == 20)

            // A higher limit lets it through as well; here: --force.
            let forced = try await sandbox.client(["pull", "--force"])
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stderr.contains("re-bootstrapped"))
            let verify = try await sandbox.client(["verify", "--json"])
            #expect(verify.status == 0)
            #expect(jsonObject(verify.stdout)?["articles"] as? Int == 15)
        }
    }

    @Test func aDeltaWhoseBaseTheReplicaDoesNotHoldIsPulledAgainWhole() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 40, to: $0.corpus) }) { sandbox in
            let first = try await sandbox.syncer().pull()
            // The replica's copy of article 7 is not the version the server has (a damaged or
            // hand-edited replica): a delta against the server's version cannot apply to it.
            let store = try Replica.openExisting(at: sandbox.replica)
            let held = try #require(try await store.article(id: Corpus.id(7)))
            let altered = try SeedFormat.parse(Array(Corpus.article(7, edit: 5).utf8))
            try await store.applyBatch(
                [.put(id: Corpus.id(7), revision: held.revision, article: altered, contentHash: StoreDigest.contentHash(of: altered.source))],
                upstreamStoreID: first.storeID, cursor: first.cursor)
            try store.close()

            let edited = Array(Corpus.article(7, edit: 1).utf8)
            let pusher = Pusher(configuration: sandbox.configuration, replicaPath: sandbox.replica)
            let pushed = try await pusher.push([PushItem(id: Corpus.id(7), source: edited)])
            #expect(pushed.outcomes.map(\.status) == [.applied])

            let events = EventLog()
            let second = try await sandbox.syncer(onEvent: events.record).pull()
            #expect(events.names.contains("retryingWithoutDeltas"), "\(events.names)")
            #expect(second.cursor == pushed.headRevision)
            let reopened = try Replica.openExisting(at: sandbox.replica)
            #expect(try await reopened.article(id: Corpus.id(7))?.article.source == edited)
            try reopened.close()
            let report = try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica).verify()
            #expect(report.isExact, "\(report.differences)")
        }
    }

    @Test func verifySaysExactOrWhatDiffers() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 12, to: $0.corpus) }) { sandbox in
            _ = try await sandbox.syncer().pull()
            let exact = try await sandbox.client(["verify"])
            #expect(exact.status == 0)
            #expect(exact.stdout.contains("exact: 12 articles"))

            // Damage the replica behind the client's back: drop one article, keep the cursor.
            let store = try Replica.openExisting(at: sandbox.replica)
            let state = try await store.snapshot()
            try await store.applyBatch(
                [.delete(id: Corpus.id(1), revision: state.cursor)], upstreamStoreID: state.upstreamStoreID!, cursor: state.cursor)
            try store.close()

            let mismatch = try await sandbox.client(["verify"])
            #expect(mismatch.status == ExitStatus.verifyMismatch.rawValue)
            #expect(mismatch.stdout.contains("MISMATCH"))
            #expect(mismatch.stdout.contains("article count: replica 11, server 12"))
            #expect(mismatch.stdout.contains("digest"))
            let json = try await sandbox.client(["verify", "--json"])
            #expect(jsonObject(json.lines.first ?? "")?["exact"] as? Bool == false)
        }
    }
}

/// Collects sync events from any task.
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])

    var names: [String] { events.withLock { $0 } }

    func record(_ event: SyncEvent) {
        let name: String
        switch event {
        case .connected: name = "connected"
        case .pulling: name = "pulling"
        case .batchApplied: name = "batch"
        case .caughtUp: name = "caughtUp"
        case .snapshotRequired: name = "snapshotRequired"
        case .rebootstrapDifference: name = "rebootstrapDifference"
        case .rebootstrapped: name = "rebootstrapped"
        case .retryingWithoutDeltas: name = "retryingWithoutDeltas"
        case .reconnecting: name = "reconnecting"
        case .searchIndexPending: name = "searchIndexPending"
        case .indexing: name = "indexing"
        case .indexBuilt: name = "indexBuilt"
        }
        events.withLock { $0.append(name) }
    }
}
