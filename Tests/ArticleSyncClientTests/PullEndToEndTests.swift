import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
import Foundation
import Testing

/// The client against a real `articlesyncd` process, with real replicas on disk.
@Suite("pull, push and export against a real server", .serialized)
struct PullEndToEndTests {
    static func prepareMixed(_ sandbox: Sandbox) throws {
        try Corpus.write(count: 30, to: sandbox.corpus)
        try Corpus.writeMessy(to: sandbox.corpus)
        let seeds = try FileManager.default.contentsOfDirectory(atPath: Binaries.seeds.path)
        for name in seeds {
            try FileManager.default.copyItem(atPath: Binaries.seeds.path + "/" + name, toPath: sandbox.corpus + "/" + name)
        }
    }

    @Test func firstPullCopiesEverythingAndExportIsByteIdenticalToTheSources() async throws {
        try await Sandbox.run(prepare: Self.prepareMixed) { sandbox in
            let pull = try await sandbox.client(["pull", "--json"])
            #expect(pull.status == 0, "\(pull.stderr)")
            let done = try #require(pull.lines.compactMap(jsonObject).first { $0["event"] as? String == "done" })
            let sources = try FileManager.default.contentsOfDirectory(atPath: sandbox.corpus)
            #expect(done["applied"] as? Int == sources.count)

            let verify = try await sandbox.client(["verify"])
            #expect(verify.status == 0)
            #expect(verify.stdout.hasPrefix("exact"))

            let exportDirectory = sandbox.root + "/export"
            let export = try await sandbox.client(["export", exportDirectory], server: false)
            #expect(export.status == 0, "\(export.stderr)")
            // The tree's own record of itself aside.
            let exported = try FileManager.default.contentsOfDirectory(atPath: exportDirectory).filter { !$0.hasPrefix(".articlesync-tree") }.sorted()
            #expect(exported == sources.sorted())
            for name in sources {
                let original = FileManager.default.contents(atPath: sandbox.corpus + "/" + name)
                let copy = FileManager.default.contents(atPath: exportDirectory + "/" + name)
                #expect(original == copy, "\(name) differs after export")
            }
            // seeds/ itself, byte for byte.
            for name in try FileManager.default.contentsOfDirectory(atPath: Binaries.seeds.path) {
                #expect(FileManager.default.contents(atPath: Binaries.seeds.path + "/" + name) == FileManager.default.contents(atPath: exportDirectory + "/" + name))
            }

            let again = try await sandbox.client(["pull"])
            #expect(again.status == 0)
            #expect(again.stdout.contains("already up to date"))
        }
    }

    @Test func incrementalPullAfterAPushAppliesOnlyTheChange() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 40, to: $0.corpus) }) { sandbox in
            let first = try await sandbox.syncer().pull()
            #expect(first.applied == 40)

            // An edit (sent back as a delta against the version the replica holds) and a new article.
            let edited = Array(Corpus.article(7, edit: 1).utf8)
            let fresh = Array(Corpus.article(1000).utf8)
            let pusher = Pusher(configuration: sandbox.configuration, replicaPath: sandbox.replica)
            let pushed = try await pusher.push([
                PushItem(id: Corpus.id(7), source: edited), PushItem(id: "neu-1000", source: fresh),
            ])
            #expect(pushed.outcomes.map(\.status) == [.applied, .applied])

            let second = try await sandbox.syncer().pull()
            #expect(second.startCursor == first.cursor)
            #expect(second.applied == 2)
            #expect(second.cursor == pushed.headRevision)

            let store = try Replica.openExisting(at: sandbox.replica)
            defer { try? store.close() }
            #expect(try await store.article(id: Corpus.id(7))?.article.source == edited)
            #expect(try await store.article(id: "neu-1000")?.article.source == fresh)
            #expect(try await store.snapshot().articleCount == 41)

            let report = try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica).verify()
            #expect(report.isExact, "\(report.differences)")
        }
    }

    @Test func aStalePushIsReportedAsAConflictAndForceOverwrites() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 5, to: $0.corpus) }) { sandbox in
            _ = try await sandbox.syncer().pull()
            // Someone else changes article 2 first (no replica: ANY via --force).
            let theirs = try sandbox.write(Array(Corpus.article(2, edit: 1).utf8), to: "theirs/\(Corpus.id(2)).txt")
            let other = try await sandbox.client(["push", "--force", theirs], replica: sandbox.root + "/other.sqlite")
            #expect(other.status == 0, "\(other.stderr)")

            let mine = try sandbox.write(Array(Corpus.article(2, edit: 2).utf8), to: "mine/\(Corpus.id(2)).txt")
            let conflict = try await sandbox.client(["push", mine])
            #expect(conflict.status == ExitStatus.conflicts.rawValue)
            #expect(conflict.stdout.contains("CONFLICT"))
            #expect(conflict.stdout.contains(Corpus.id(2)))

            let forced = try await sandbox.client(["push", "--force", "--json", mine])
            #expect(forced.status == 0)
            let result = try #require(jsonObject(forced.stdout))
            let results = try #require(result["results"] as? [[String: Any]])
            #expect(results.first?["status"] as? String == "applied")
        }
    }

    @Test func invalidFilesAreReportedAndNotSent() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 2, to: $0.corpus) }) { sandbox in
            let good = try sandbox.write(Array(Corpus.article(500).utf8), to: "in/gut.txt")
            _ = good
            _ = try sandbox.write(Array("kein Datum\n\nTitel".utf8), to: "in/kaputt.txt")
            let run = try await sandbox.client(["push", sandbox.root + "/in"])
            #expect(run.status == ExitStatus.dataError.rawValue)
            #expect(run.stderr.contains("kaputt.txt"))
            #expect(run.stdout.contains("applied    gut"))
        }
    }

    @Test func deletionsPropagateToTheReplicaAndToAnExportWithDelete() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 10, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            let exportDirectory = sandbox.root + "/export"
            #expect(try await sandbox.client(["export", exportDirectory], server: false).status == 0)
            #expect(FileManager.default.fileExists(atPath: exportDirectory + "/\(Corpus.id(3)).txt"))

            let delete = try await sandbox.client(["push", "--delete", Corpus.id(3), Corpus.id(4)])
            #expect(delete.status == 0, "\(delete.stdout)\(delete.stderr)")
            // Two of ten is more than the guard's default 10% (every pull is guarded): allow 20%.
            var options = SyncOptions()
            options.deletionGuardFraction = 0.2
            let pull = try await sandbox.syncer(options).pull()
            #expect(pull.deleted == 2)

            let show = try await sandbox.client(["show", Corpus.id(3)], server: false)
            #expect(show.status == ExitStatus.failure.rawValue)
            #expect(show.stderr.contains("no article"))

            let export = try await sandbox.client(["export", "--delete", exportDirectory], server: false)
            #expect(export.status == 0)
            #expect(!FileManager.default.fileExists(atPath: exportDirectory + "/\(Corpus.id(3)).txt"))
            #expect(!FileManager.default.fileExists(atPath: exportDirectory + "/\(Corpus.id(4)).txt"))
            #expect(FileManager.default.fileExists(atPath: exportDirectory + "/\(Corpus.id(5)).txt"))
            #expect(try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica).verify().isExact)
        }
    }

    @Test func followModeIsWokenByAPush() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 3, to: $0.corpus) }) { sandbox in
            let follower = try sandbox.startClient(["pull", "--follow", "--json", "--wait", "60"])
            _ = try await follower.waitForLine { jsonObject($0)?["event"] as? String == "caughtUp" }

            let pushed = try await Pusher(configuration: sandbox.configuration, replicaPath: sandbox.root + "/writer.sqlite")
                .push([PushItem(id: "eilmeldung", source: Array(Corpus.article(77).utf8))])
            #expect(pushed.outcomes.first?.status == .applied)

            let line = try await follower.waitForLine(timeout: .seconds(30)) {
                jsonObject($0)?["event"] as? String == "change" && jsonObject($0)?["id"] as? String == "eilmeldung"
            }
            #expect(jsonObject(line)?["revision"] as? Int == Int(pushed.headRevision))
            follower.terminate()

            let store = try Replica.openExisting(at: sandbox.replica)
            defer { try? store.close() }
            #expect(try await store.article(id: "eilmeldung") != nil)
        }
    }

    @Test func aSecondPullIntoAReplicaBeingPulledIntoIsRefusedAtOnceNamingTheFirst() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 3, to: $0.corpus) }) { sandbox in
            let follower = try sandbox.startClient(["pull", "--follow", "--json", "--wait", "60"])
            _ = try await follower.waitForLine { jsonObject($0)?["event"] as? String == "caughtUp" }

            let started = ContinuousClock.now
            let second = try await sandbox.client(["pull"])
            #expect(second.status == 1, "\(second.stderr)")
            #expect(second.stderr.contains("another articlesync (pid \(follower.pid)) is pulling into the replica \(sandbox.replica): one pull at a time"), "\(second.stderr)")
            #expect(ContinuousClock.now - started < .seconds(10), "refused without waiting on SQLite's busy timeout")

            follower.terminate()
            let third = try await sandbox.client(["pull"])
            #expect(third.status == 0, "the lock goes with its process: \(third.stderr)")
        }
    }

    @Test func followReconnectsWhenTheServerComesBack() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 3, to: $0.corpus) }) { sandbox in
            let follower = try sandbox.startClient(["pull", "--follow", "--json", "--wait", "60"])
            _ = try await follower.waitForLine { jsonObject($0)?["event"] as? String == "caughtUp" }

            await sandbox.server.stop()
            _ = try await follower.waitForLine { jsonObject($0)?["event"] as? String == "reconnecting" }
            try await sandbox.server.restart()

            let pushed = try await Pusher(configuration: sandbox.configuration, replicaPath: sandbox.root + "/writer.sqlite")
                .push([PushItem(id: "nach-neustart", source: Array(Corpus.article(88).utf8))])
            #expect(pushed.outcomes.first?.status == .applied)
            _ = try await follower.waitForLine(timeout: .seconds(60)) {
                jsonObject($0)?["event"] as? String == "change" && jsonObject($0)?["id"] as? String == "nach-neustart"
            }
            follower.terminate()
        }
    }
}
