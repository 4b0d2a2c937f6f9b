import ArticleStore
import ArticleSyncClient
import Foundation
import Testing

/// A reading replica's first pull applies at mirror speed and builds the search index in bulk;
/// an index left unbuilt by a killed pull is built before anyone relies on it.
@Suite("the search index of a reading replica", .serialized)
struct SearchIndexEndToEndTests {
    static func prepare(_ sandbox: Sandbox) throws {
        try Corpus.write(count: 24, to: sandbox.corpus)
        try Corpus.writeMessy(to: sandbox.corpus)
    }

    @Test func aFirstPullBuildsTheIndexInBulkAndLeavesASearchableReplica() async throws {
        try await Sandbox.run(prepare: Self.prepare) { sandbox in
            let events = EventLog()
            let report = try await sandbox.syncer(onEvent: events.record).pull()
            #expect(report.applied == 24 + Corpus.messy.count)
            let names = events.names
            #expect(names.contains("indexing"))
            #expect(names.firstIndex(of: "indexBuilt") ?? -1 < names.lastIndex(of: "caughtUp") ?? -1, "built before the pull ends: \(names)")
            let store = try Replica.openExisting(at: sandbox.replica)
            #expect(try await !store.isFullTextIndexPending())
            #expect(try await store.search("Grüße", limit: 5).first?.summary.id == "messy-bom")
            try store.close()

            // An incremental pull keeps the index row by row: no bulk build.
            let later = EventLog()
            _ = try await sandbox.syncer(onEvent: later.record).pull()
            #expect(!later.names.contains("indexing"))
        }
    }

    @Test func aPendingIndexIsBuiltByTheNextPullAndBySearchAndSaysSo() async throws {
        try await Sandbox.run(prepare: Self.prepare) { sandbox in
            // The state a pull killed between its last batch and the bulk build leaves: articles,
            // an empty index, the pending flag (here: a mirror opened as a reading replica).
            let other = sandbox.root + "/other.sqlite"
            for path in [sandbox.replica, other] {
                #expect(try await sandbox.client(["pull", "--mirror"], replica: path).status == 0)
                let store = try ReplicaStore(path: path, fullTextIndex: true)
                try await store.deferFullTextIndex()
                #expect(try await store.isFullTextIndexPending())
                try store.close()
            }

            let pull = try await sandbox.client(["pull"])
            #expect(pull.status == 0, "\(pull.stderr)")
            #expect(pull.stderr.contains("the search index is not built yet"), "\(pull.stderr)")
            let store = try Replica.openExisting(at: sandbox.replica)
            #expect(try await !store.isFullTextIndexPending())
            try store.close()
            let found = try await sandbox.client(["search", "Straße"], server: false)
            #expect(found.status == 0 && found.stdout.contains("«"), "\(found.stdout)")

            let search = try await sandbox.client(["search", "Straße"], replica: other, server: false)
            #expect(search.status == 0, "\(search.stderr)")
            #expect(search.stderr.contains("building the search index first"), "\(search.stderr)")
            #expect(search.stdout.contains("«Straße»"), "\(search.stdout)")
            let again = try await sandbox.client(["search", "Straße"], replica: other, server: false)
            #expect(!again.stderr.contains("building"), "built once: \(again.stderr)")
        }
    }
}
