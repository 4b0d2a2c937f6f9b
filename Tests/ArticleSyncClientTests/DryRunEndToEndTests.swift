import ArticleSyncClient
import Foundation
import Testing

/// Issue 17: dry runs change nothing, itemized changes, the replica's arrival log, and pushes that
/// the replica remembers. Driven through the real programs.
@Suite struct DryRunEndToEndTests {
    /// The replica file and which of its sidecars exist, to compare before and after.
    static func fingerprint(_ path: String) -> (Data?, [Bool]) {
        (FileManager.default.contents(atPath: path), ["-wal", "-shm", "-journal"].map { FileManager.default.fileExists(atPath: path + $0) })
    }

    /// Two edits, one new article and one deletion on the server after the replica's pull, made
    /// through another replica so that this one knows nothing of them.
    static func changeTheServer(_ sandbox: Sandbox) async throws {
        let other = sandbox.root + "/other.sqlite"
        for index in [3, 7] {
            let file = try sandbox.write(Array(Corpus.article(index, edit: 1).utf8), to: "edits/\(Corpus.id(index)).txt")
            #expect(try await sandbox.client(["push", "--force", file], replica: other).status == 0)
        }
        let new = try sandbox.write(Array(Corpus.article(40).utf8), to: "edits/\(Corpus.id(40)).txt")
        #expect(try await sandbox.client(["push", "--force", new], replica: other).status == 0)
        #expect(try await sandbox.client(["push", "--force", "--delete", Corpus.id(5)], replica: other).status == 0)
    }

    static func title(_ index: Int) -> String {
        String(Corpus.article(index).split(separator: "\n", omittingEmptySubsequences: true)[1])
    }

    @Test func pullDryRunListsWhatWouldChangeAndLeavesTheReplicaByteIdentical() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 20, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            try await Self.changeTheServer(sandbox)
            let before = Self.fingerprint(sandbox.replica)
            #expect(before.0 != nil)

            let dry = try await sandbox.client(["pull", "--dry-run"])
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.lines.contains("~ \(Corpus.id(3)) \(Self.title(3))"), "\(dry.stdout)")
            #expect(dry.lines.contains("~ \(Corpus.id(7)) \(Self.title(7))"), "\(dry.stdout)")
            #expect(dry.lines.contains("+ \(Corpus.id(40)) \(Self.title(40))"), "\(dry.stdout)")
            #expect(dry.lines.contains("- \(Corpus.id(5))"), "\(dry.stdout)")
            #expect(dry.stdout.contains("dry run: would add 1, change 2, delete 1 (revision 20 to 24"), "\(dry.stdout)")
            #expect(dry.stdout.contains("nothing was changed"), "\(dry.stdout)")
            let after = Self.fingerprint(sandbox.replica)
            #expect(after.0 == before.0, "the replica file changed")
            #expect(after.1 == before.1, "sidecars before \(before.1), after \(after.1)")

            let json = try await sandbox.client(["pull", "-n", "--json"])
            let objects = json.lines.compactMap(jsonObject)
            let items = objects.filter { $0["event"] as? String == "item" }
            #expect(items.count == 4, "\(json.stdout)")
            #expect(items.compactMap { $0["revision"] as? Int } == [21, 22, 23, 24], "in revision order: \(json.stdout)")
            #expect(items.contains { $0["change"] as? String == "deleted" && $0["id"] as? String == Corpus.id(5) })
            let summary = try #require(objects.last)
            #expect(summary["event"] as? String == "dryRun")
            #expect(summary["counts"] as? [String: Int] == ["added": 1, "changed": 2, "deleted": 1])
            #expect(Self.fingerprint(sandbox.replica).0 == before.0)

            // The real pull itemizes the same changes, and the replica records them.
            let pulled = try await sandbox.client(["pull", "--itemize"])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            for line in dry.lines where line.hasPrefix("+ ") || line.hasPrefix("~ ") || line.hasPrefix("- ") {
                #expect(pulled.lines.contains(line), "\(line) not in \(pulled.stdout)")
            }
            let log = try await sandbox.client(["log", "--json"], server: false)
            #expect(log.status == 0, "\(log.stderr)")
            let arrivals = try #require((try? JSONSerialization.jsonObject(with: Data(log.stdout.utf8))) as? [[String: Any]])
            #expect(arrivals.map { $0["revision"] as? Int } == [24, 23, 22, 21], "newest first: \(log.stdout)")
            #expect(arrivals.map { $0["change"] as? String } == ["deleted", "added", "changed", "changed"])
            #expect(arrivals[1]["title"] as? String == Self.title(40))
            let since = try await sandbox.client(["log", "--since", "22"], server: false)
            #expect(since.lines.count == 2, "\(since.stdout)")
            #expect(since.lines.first?.hasSuffix("r24  - \(Corpus.id(5))") == true, "\(since.stdout)")
            let afterDry = try await sandbox.client(["pull", "-n"])
            #expect(afterDry.stdout.contains("dry run: nothing would change"), "\(afterDry.stdout)")
        }
    }

    @Test func aDryRunIntoAReplicaThatDoesNotExistCreatesNothing() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 12, to: $0.corpus) }) { sandbox in
            let folder = sandbox.root + "/not-yet"
            let replica = folder + "/replica.sqlite"
            let dry = try await sandbox.client(["pull", "--dry-run"], replica: replica)
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.lines.filter { $0.hasPrefix("+ ") }.count == 12, "\(dry.stdout)")
            #expect(dry.stdout.contains("would add 12, change 0, delete 0"), "\(dry.stdout)")
            #expect(!FileManager.default.fileExists(atPath: folder), "the dry run made \(folder)")
        }
    }

    @Test func aDryRunSaysWhenTheMassDeletionGuardWouldStopThePull() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 10, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            let ids = (0..<3).map(Corpus.id)
            #expect(try await sandbox.client(["push", "--force", "--delete"] + ids, replica: sandbox.root + "/other.sqlite").status == 0)
            let before = Self.fingerprint(sandbox.replica)
            let dry = try await sandbox.client(["pull", "-n"])
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.stderr.contains("a pull would stop here: deleting 3 articles of the replica's 10 is more than --max-delete-percent allows"), "\(dry.stderr)")
            #expect(Self.fingerprint(sandbox.replica).0 == before.0)

            // The real pull is refused and leaves its download beside the replica; status says so.
            #expect(try await sandbox.client(["pull"]).status == 5)
            let text = try await sandbox.client(["status"])
            #expect(text.stdout.contains("staged:   a pull stopped before it was applied: 3 changes up to revision 13 downloaded beside the replica"), "\(text.stdout)")
            let json = try #require(jsonObject(try await sandbox.client(["status", "--json"]).stdout))
            #expect(json["stagedRevision"] as? Int == 13 && json["stagedChanges"] as? Int == 3, "\(json)")
            #expect(try await sandbox.client(["pull", "--force"]).status == 0)
            let applied = try #require(jsonObject(try await sandbox.client(["status", "--json"]).stdout))
            #expect(applied["stagedRevision"] == nil, "\(applied)")
        }
    }

    /// On a terminal (a pseudo-terminal from util-linux's script), a first pull from a store with
    /// history counts articles, not revisions, goes on through the search index, and is erased.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func theBootstrapBarCountsArticlesNotRevisions() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 30, to: $0.corpus) }) { sandbox in
            // Twenty edits: the head is at revision 50 with 30 articles.
            for edit in 1...20 {
                let file = try sandbox.write(Array(Corpus.article(edit % 4, edit: edit).utf8), to: "edits/\(Corpus.id(edit % 4)).txt")
                #expect(try await sandbox.client(["push", "--force", file], replica: sandbox.root + "/other.sqlite").status == 0)
            }
            let command = [Binaries.client.path, "pull", "--server", "\(sandbox.server.address)", "--replica", sandbox.replica].joined(separator: " ")
            let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"])
            defer { child.terminate() }
            #expect(try await child.wait(timeout: .seconds(120)) == 0, "\(child.stdout)")
            #expect(child.stdout.contains("pulling 30 of 30 articles"), "\(child.stdout.debugDescription)")
            #expect(child.stdout.contains("building the search index… 30 of 30 articles"), "\(child.stdout.debugDescription)")
            #expect(child.stdout.contains("\r\u{1B}[2Kpulled 30 articles and 0 deletions"), "the bar is erased: \(child.stdout.debugDescription)")
        }
    }

    @Test func aUnifiedDiffNumbersItsHunksAsDiffUDoes() {
        let old = Array("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n".utf8)
        let new = Array("a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n".utf8)
        #expect(UnifiedDiff.hunks(old, new) == ["@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e", "@@ -8,3 +8,4 @@\n h\n i\n j\n+k"])
        #expect(UnifiedDiff.hunks(old, old) == [])
        #expect(UnifiedDiff.hunks([], Array("x\n".utf8)) == ["@@ -0,0 +1,1 @@\n+x"])
    }

    @Test func importDryRunListsWhatWouldChangeAndLeavesTheStoreByteIdentical() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        try Corpus.write(count: 20, to: sandbox.corpus)
        let store = sandbox.root + "/store.sqlite"
        func run(_ arguments: [String]) async throws -> (Int32, String, String) {
            let child = try ChildProcess(Binaries.server, arguments)
            defer { child.terminate() }
            let status = try await child.wait()
            return (status, child.stdout, child.stderr)
        }
        #expect(try await run(["import", "--store", store, sandbox.corpus]).0 == 0)
        try FileManager.default.removeItem(atPath: sandbox.corpus + "/\(Corpus.id(4)).txt")
        try Corpus.article(6, edit: 2).write(toFile: sandbox.corpus + "/\(Corpus.id(6)).txt", atomically: true, encoding: .utf8)
        try Corpus.article(30).write(toFile: sandbox.corpus + "/\(Corpus.id(30)).txt", atomically: true, encoding: .utf8)
        let before = Self.fingerprint(store)

        let (status, stdout, stderr) = try await run(["import", "--store", store, sandbox.corpus, "--delete-missing", "--dry-run"])
        #expect(status == 0, "\(stderr)")
        let lines = stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("+ \(Corpus.id(30)) \(Self.title(30))"), "\(stdout)")
        #expect(lines.contains("~ \(Corpus.id(6)) \(Self.title(6))"), "\(stdout)")
        #expect(lines.contains("- \(Corpus.id(4))"), "\(stdout)")
        #expect(stdout.contains("dry run: 20 files, would add 1, change 1, delete 1, 18 unchanged, 0 refused; nothing was changed"), "\(stdout)")
        #expect(Self.fingerprint(store).0 == before.0, "the store file changed")
        #expect(Self.fingerprint(store).1 == before.1)

        let (_, json, _) = try await run(["import", "--store", store, sandbox.corpus, "--delete-missing", "-n", "--json"])
        let object = try #require(jsonObject(json))
        #expect(object["added"] as? Int == 1 && object["changed"] as? Int == 1 && object["deleted"] as? Int == 1, "\(json)")
        #expect((object["items"] as? [[String: Any]])?.count == 3)

        // The import itself, itemized, makes the changes the dry run listed.
        let (imported, importedOut, importedErr) = try await run(["import", "--store", store, sandbox.corpus, "--delete-missing", "-v"])
        #expect(imported == 0, "\(importedErr)")
        let itemized = importedOut.split(separator: "\n").map(String.init).filter { $0.hasPrefix("+ ") || $0.hasPrefix("~ ") || $0.hasPrefix("- ") }
        #expect(itemized == lines.filter { $0.hasPrefix("+ ") || $0.hasPrefix("~ ") || $0.hasPrefix("- ") }, "\(importedOut)")
        let (_, after, _) = try await run(["import", "--store", store, sandbox.corpus, "--delete-missing", "-n"])
        #expect(after.contains("nothing would change, 20 unchanged"), "\(after)")

        // A dry run creates no store.
        let missing = sandbox.root + "/none.sqlite"
        #expect(try await run(["import", "--store", missing, sandbox.corpus, "-n"]).0 != 0)
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    // MARK: pushes the replica remembers

    @Test func pushDeleteRightAfterCreatingAnArticleIsNoConflict() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 5, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            let file = try sandbox.write(Array(Corpus.article(60).utf8), to: "outbox/\(Corpus.id(60)).txt")
            let created = try await sandbox.client(["push", file])
            #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
            let edited = try sandbox.write(Array(Corpus.article(60, edit: 1).utf8), to: "outbox2/\(Corpus.id(60)).txt")
            let changed = try await sandbox.client(["push", edited])
            #expect(changed.status == 0, "an edit of the article just pushed: \(changed.stdout)")
            let deleted = try await sandbox.client(["push", "--delete", Corpus.id(60)])
            #expect(deleted.status == 0, "\(deleted.stdout)")
            #expect(deleted.stdout.contains("deleted    \(Corpus.id(60))"), "\(deleted.stdout)")
            // Deleting it again deletes nothing: a script must not take that for done.
            let again = try await sandbox.client(["push", "--delete", Corpus.id(60)])
            #expect(again.status == 1, "\(again.stdout)\(again.stderr)")
            #expect(again.stdout.contains("not found  \(Corpus.id(60)): no live article with this id"), "\(again.stdout)")
        }
    }

    @Test func aNegativeNumberOrAnEmptyIdIsAUsageErrorThatSaysWhatIsAllowed() async throws {
        try await Sandbox.run { sandbox in
            for (arguments, expected) in [
                (["list", "--limit", "-5"], "--limit must be at least 1"),
                (["log", "-l", "-1"], "--limit must be at least 1"),
                (["search", "x", "--limit", "-2"], "--limit must be at least 1"),
                (["pull", "--keep-deleted", "-3"], "--keep-deleted must be between 1 and 36500 days"),
                (["pull", "--budget", "-1"], "'-1' is invalid for '--budget"),
                (["show", ""], "give an article id"),
            ] {
                let run = try await sandbox.client(arguments, server: false)
                #expect(run.status == 64, "\(arguments): \(run.stderr)")
                #expect(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
                #expect(!run.stderr.contains("Missing value"), "\(arguments): \(run.stderr)")
            }
        }
    }

    @Test func aConflictPointsToDiffWhichShowsWhatTheOtherSideChanged() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 5, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            // Someone else edits article 2 on the server.
            let theirs = try sandbox.write(Array(Corpus.article(2, edit: 7).utf8), to: "theirs/\(Corpus.id(2)).txt")
            #expect(try await sandbox.client(["push", "--force", theirs], replica: sandbox.root + "/other.sqlite").status == 0)
            // We edit our copy, not having pulled theirs.
            let mine = try sandbox.write(Array(Corpus.article(2, edit: 3).utf8), to: "mine/\(Corpus.id(2)).txt")
            let push = try await sandbox.client(["push", mine])
            #expect(push.status == 3)
            #expect(push.stdout.contains("CONFLICT   \(Corpus.id(2))"), "\(push.stdout)")
            #expect(push.stdout.contains("articlesync diff \(Corpus.id(2)) \(mine) --server-copy"), "\(push.stdout)")
            #expect(!push.stdout.contains("or use --force"), "\(push.stdout)")

            let diff = try await sandbox.client(["diff", Corpus.id(2), mine, "--server-copy"])
            #expect(diff.status == 1, "\(diff.stderr)")
            #expect(diff.lines.first == "--- server \(Corpus.id(2)) (revision 6)", "\(diff.stdout)")
            #expect(diff.lines.contains("+++ \(mine)"), "\(diff.stdout)")
            #expect(diff.lines.contains { $0.hasPrefix("-") && $0.contains("Aktualisiert (7).") }, "\(diff.stdout)")
            #expect(diff.lines.contains { $0.hasPrefix("+") && $0.contains("Aktualisiert (3).") }, "\(diff.stdout)")

            // Against the replica (offline): only our edit.
            let local = try await sandbox.client(["diff", Corpus.id(2), mine], server: false)
            #expect(local.status == 1)
            #expect(local.lines.first == "--- replica \(Corpus.id(2)) (revision 3)", "\(local.stdout)")
            #expect(!local.stdout.contains("Aktualisiert (7)."), "\(local.stdout)")
            // The replica against the server, and an unchanged file.
            let both = try await sandbox.client(["diff", Corpus.id(2)])
            #expect(both.status == 1 && both.stdout.contains("+++ server \(Corpus.id(2)) (revision 6)"), "\(both.stdout)")
            let same = try await sandbox.client(["diff", Corpus.id(1), sandbox.corpus + "/\(Corpus.id(1)).txt"], server: false)
            #expect(same.status == 0, "\(same.stdout)")
            #expect(same.stderr.contains("no differences"), "\(same.stderr)")
            // Trouble is 2, as diff(1)'s, never the 1 that says the two differ.
            let missingFile = try await sandbox.client(["diff", Corpus.id(1), sandbox.root + "/no-such-file.txt"], server: false)
            #expect(missingFile.status == 2 && missingFile.stderr.contains("no such file or directory"), "\(missingFile.stderr)")
            let nowhere = try await sandbox.client(["diff", "no-such-article"])
            #expect(nowhere.status == 2 && nowhere.stderr.contains("holds the article no-such-article"), "\(nowhere.stderr)")
            let noReplica = try await sandbox.client(["diff", Corpus.id(1), mine], replica: sandbox.root + "/none.sqlite", server: false)
            #expect(noReplica.status == 2 && noReplica.stderr.contains("no replica at"), "\(noReplica.stderr)")
        }
    }
}
