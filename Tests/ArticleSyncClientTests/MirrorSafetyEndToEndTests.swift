import ArticleModel
import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
import Foundation
import GRDB
import Testing

/// Issue 12 with real processes: a mirror never changes behind the operator's back (the guard on
/// every pull and on the importer, kept deletions), a verify that reads every byte, an export that
/// never writes a damaged article nor stops part-way, and ids and text as the exact bytes they are.
@Suite("a mirror loses nothing silently", .serialized)
struct MirrorSafetyEndToEndTests {
    static func replicaDatabase(_ path: String) throws -> DatabaseQueue { try DatabaseQueue(path: path) }

    static func listed(_ run: Sandbox.Run) -> [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [[String: Any]] ?? []
    }

    static func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func push(_ sandbox: Sandbox, _ items: [PushItem]) async throws {
        let report = try await Pusher(configuration: sandbox.configuration, replicaPath: sandbox.replica, force: true).push(items)
        #expect(report.outcomes.allSatisfy { $0.status == .applied }, "\(report.outcomes.map { "\($0.id): \($0.status) \($0.message)" })")
    }

    // MARK: the guard on every pull (issue 12, 1)

    @Test func aPullThatWouldDeleteMoreThanTheLimitChangesNothingUntilForced() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 40, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull", "--mirror"]).status == 0)
            let before = try await Replica.openExisting(at: sandbox.replica).snapshotAndClose()
            // A new article, then ten of forty deleted (25%).
            try await Self.push(sandbox, [PushItem(id: "neu", source: Array(Corpus.article(900).utf8))])
            try await Self.push(sandbox, (10..<20).map { PushItem(id: Corpus.id($0), source: nil) })

            let refused = try await sandbox.client(["pull"])
            #expect(refused.status == ExitStatus.guardRefused.rawValue, "\(refused.stderr)")
            #expect(refused.stderr.contains("this pull would delete 10 of the replica's 40 articles (25%, more than the 10% limit)"), "\(refused.stderr)")
            #expect(refused.stderr.contains("art00010, art00011"), "\(refused.stderr)")
            #expect(refused.stderr.contains("nothing was changed"), "\(refused.stderr)")
            let after = try await Replica.openExisting(at: sandbox.replica).snapshotAndClose()
            #expect(after == before, "nothing applied, not even the new article")
            let shown = try await sandbox.client(["show", "neu"], server: false)
            #expect(shown.status != 0)
            // Still exact at its old revision.
            let verify = try await sandbox.client(["verify"])
            #expect(verify.status == 0, "\(verify.stdout)")

            // A higher limit, or --force, applies it.
            let allowed = try await sandbox.client(["pull", "--max-delete-percent", "30", "--json"])
            #expect(allowed.status == 0, "\(allowed.stderr)")
            let done = try #require(allowed.lines.compactMap(jsonObject).last)
            #expect(done["applied"] as? Int == 1 && done["deleted"] as? Int == 10)
            let exact = try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica, deep: true).verify()
            #expect(exact.isExact, "\(exact.differences)")
            #expect(exact.localCount == 31)

            // Below the limit a pull deletes as always.
            try await Self.push(sandbox, [PushItem(id: Corpus.id(30), source: nil)])
            #expect(try await sandbox.client(["pull"]).status == 0)
        }
    }

    /// A pull is held in memory until the guard has seen it, or in the stage once it outgrows
    /// `heldPullLimit` (0: from its first batch): refused alike, kept alike for --force, applied alike.
    @Test(arguments: [0, SyncOptions().heldPullLimit])
    func aPullHeldInMemoryOrInTheStageIsGuardedKeptAndAppliedAlike(heldPullLimit: Int) async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 40, to: $0.corpus) }) { sandbox in
            var options = SyncOptions()
            options.fullTextIndex = false
            options.heldPullLimit = heldPullLimit
            _ = try await sandbox.syncer(options).pull()
            let before = try await Replica.openExisting(at: sandbox.replica).snapshotAndClose()
            try await Self.push(sandbox, [PushItem(id: "neu", source: Array(Corpus.article(900).utf8))])
            try await Self.push(sandbox, (10..<20).map { PushItem(id: Corpus.id($0), source: nil) })

            do {
                _ = try await sandbox.syncer(options).pull()
                Issue.record("the guard let 10 deletions of 40 through")
            } catch let error as ClientError {
                #expect(error.status == .guardRefused, "\(error)")
                #expect(error.description.contains("would delete 10 of the replica's 40 articles"), "\(error)")
                #expect(error.description.contains("art00010, art00011"), "\(error)")
            }
            #expect(try await Replica.openExisting(at: sandbox.replica).snapshotAndClose() == before, "nothing applied")
            let refused = try Replica.openExisting(at: sandbox.replica)
            #expect(try await refused.stagedChangeCount() == 11, "the refused pull is kept for --force")
            try refused.close()

            options.force = true
            let report = try await sandbox.syncer(options).pull()
            #expect(report.applied == 1 && report.deleted == 10)
            let applied = try Replica.openExisting(at: sandbox.replica)
            let stage = try await applied.stageState()
            let staged = try await applied.stagedChangeCount()
            #expect(stage == nil && staged == 0)
            let log = try await applied.arrivals(limit: 100)
            #expect(log.count { $0.kind == .deleted } == 10 && log.count { $0.kind == .new } == 1, "\(log)")
            try applied.close()

            // Below the limit, held or staged, a pull with a deletion and an edit applies at once.
            options.force = false
            try await Self.push(sandbox, [
                PushItem(id: Corpus.id(30), source: nil), PushItem(id: Corpus.id(31), source: Array(Corpus.article(931).utf8)),
            ])
            let small = try await sandbox.syncer(options).pull()
            #expect(small.applied == 1 && small.deleted == 1)
            let latest = try Replica.openExisting(at: sandbox.replica)
            let latestStage = try await latest.stageState()
            let kinds = try await latest.arrivals(limit: 2).map(\.kind)
            #expect(latestStage == nil)
            #expect(kinds == [.changed, .deleted])
            try latest.close()
            let exact = try await Verifier(configuration: sandbox.configuration, replicaPath: sandbox.replica, deep: true).verify()
            #expect(exact.isExact, "\(exact.differences)")
            #expect(exact.localCount == 30)
        }
    }

    @Test func keptDeletionsAreListedExportedAndExpiredAndSurviveAReBootstrap() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 40, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull", "--mirror"]).status == 0)
            try await Self.push(sandbox, [PushItem(id: Corpus.id(3), source: nil), PushItem(id: Corpus.id(4), source: nil)])
            let pull = try await sandbox.client(["pull", "--keep-deleted", "30"])
            #expect(pull.status == 0, "\(pull.stderr)")
            #expect(pull.stdout.contains("2 deletions, kept"), "\(pull.stdout)")

            let kept = Self.listed(try await sandbox.client(["list", "--deleted", "--json"], server: false))
            #expect(kept.compactMap { $0["id"] as? String }.sorted() == [Corpus.id(3), Corpus.id(4)])
            #expect(kept.allSatisfy { ($0["deletedAt"] as? Int ?? 0) > 1_700_000_000 })
            let live = Self.listed(try await sandbox.client(["list", "--json"], server: false))
            #expect(live.count == 38)
            #expect(try await sandbox.client(["verify"]).status == 0, "kept articles are not live")

            // export --deleted writes them back byte for byte: an import restores them.
            let restore = sandbox.root + "/restore"
            let export = try await sandbox.client(["export", "--deleted", restore], server: false)
            #expect(export.status == 0, "\(export.stderr)")
            for index in [3, 4] {
                let name = Corpus.id(index) + ".txt"
                #expect(FileManager.default.contents(atPath: restore + "/" + name) == FileManager.default.contents(atPath: sandbox.corpus + "/" + name))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: restore).count == 2)
            // That folder keeps no record of what it wrote, so it cannot tell a user's file from a
            // stale one: --delete is refused with it, and nothing in the folder changes.
            let note = Array("mine\n".utf8)
            #expect(FileManager.default.createFile(atPath: restore + "/mynote.txt", contents: Data(note)))
            let refused = try await sandbox.client(["export", "--deleted", "--delete", restore], server: false)
            #expect(refused.status == 64, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.contains("--delete"), "\(refused.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: restore).count == 3)
            #expect(FileManager.default.contents(atPath: restore + "/mynote.txt").map { [UInt8]($0) } == note)
            let again = try await sandbox.client(["export", "--deleted", restore], server: false)
            #expect(again.status == 0 && again.stdout.contains("0 written, 2 unchanged"), "\(again.stdout)\(again.stderr)")
            #expect(FileManager.default.contents(atPath: restore + "/mynote.txt").map { [UInt8]($0) } == note)

            // A re-bootstrap keeps what it drops (and what was kept): the new store lacks art00005.
            try FileManager.default.removeItem(atPath: sandbox.corpus)
            try Corpus.write(count: 40, to: sandbox.corpus)
            for index in [3, 4, 5] { try FileManager.default.removeItem(atPath: sandbox.corpus + "/" + Corpus.id(index) + ".txt") }
            try await sandbox.server.recreate(importDirectory: sandbox.corpus)
            let rebootstrap = try await sandbox.client(["pull", "--keep-deleted", "30"])
            #expect(rebootstrap.status == 0, "\(rebootstrap.stderr)")
            let afterSwap = Self.listed(try await sandbox.client(["list", "--deleted", "--json"], server: false))
            #expect(afterSwap.compactMap { $0["id"] as? String }.sorted() == [Corpus.id(3), Corpus.id(4), Corpus.id(5)])
            #expect(try await sandbox.client(["verify"]).status == 0)

            // Kept longer than the days asked for: forgotten by the next pull with --keep-deleted.
            let database = try Self.replicaDatabase(sandbox.replica)
            try await database.write { try $0.execute(sql: "UPDATE article SET deleted_at = deleted_at - 2 * 86400 WHERE deleted = 1") }
            try database.close()
            let expiring = try await sandbox.client(["pull", "--keep-deleted", "1"])
            #expect(expiring.status == 0)
            #expect(expiring.stderr.contains("forgot 3 kept articles deleted more than 1 day ago"), "\(expiring.stderr)")
            #expect(Self.listed(try await sandbox.client(["list", "--deleted", "--json"], server: false)).isEmpty)
        }
    }

    // MARK: verify --deep and a checked export (issue 12, 2)

    @Test func aChangedByteIsFoundByADeepVerifyAndRefusedByExport() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 30, to: $0.corpus) }) { sandbox in
            let mirror = sandbox.root + "/mirror.sqlite"
            #expect(try await sandbox.client(["pull"]).status == 0)
            #expect(try await sandbox.client(["pull", "--mirror"], replica: mirror).status == 0)
            // Bit rot: one byte of one article in each replica (the index's trigger off, as the
            // damage does not come through the store). A reading replica keeps the document as sent,
            // like a mirror, and its text in clear only where a delta left it so.
            let reading = try Self.replicaDatabase(sandbox.replica)
            try await reading.write { db in
                try db.execute(sql: "DROP TRIGGER IF EXISTS article_fts_update")
                try db.execute(sql: "UPDATE article SET body = CAST('X' || substr(CAST(body AS BLOB), 2) AS TEXT) WHERE id = ? AND body IS NOT NULL", arguments: [Corpus.id(7)])
                try db.execute(
                    sql: "UPDATE article SET document = CAST(substr(document, 1, 20) || x'55' || substr(document, 22) AS BLOB) WHERE id = ? AND body IS NULL",
                    arguments: [Corpus.id(7)])
            }
            try reading.close()
            let damaged = try Self.replicaDatabase(mirror)
            try await damaged.write { db in
                try db.execute(
                    sql: "UPDATE article SET document = CAST(substr(document, 1, 20) || x'55' || substr(document, 22) AS BLOB) WHERE id = ?",
                    arguments: [Corpus.id(9)])
            }
            try damaged.close()

            // A reading replica's verify is shallow by default: the counters still agree.
            let shallow = try await sandbox.client(["verify"])
            #expect(shallow.status == 0)
            let deep = try await sandbox.client(["verify", "--deep"])
            #expect(deep.status == ExitStatus.verifyMismatch.rawValue, "\(deep.stdout)")
            // Changed text fails its hash; a changed compressed stream may not even inflate: both name the article.
            #expect(deep.stdout.contains("article \(Corpus.id(7)): its text does not match its content hash")
                || deep.stdout.contains("article \(Corpus.id(7)): its stored document cannot be read"), "\(deep.stdout)")
            #expect(deep.stdout.contains("digest: replica"), "\(deep.stdout)")
            // A mirror's is deep by default.
            let mirrorVerify = try await sandbox.client(["verify", "--json"], replica: mirror)
            #expect(mirrorVerify.status == ExitStatus.verifyMismatch.rawValue, "\(mirrorVerify.stdout)")
            let report = try #require(jsonObject(mirrorVerify.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(report["deep"] as? Bool == true)
            #expect((report["damaged"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [Corpus.id(9)])
            #expect(try await sandbox.client(["verify", "--no-deep"], replica: mirror).status == 0)
            // Reading the damaged article is an I/O error on the replica (74), which says what to do.
            let show = try await sandbox.client(["show", Corpus.id(9)], replica: mirror, server: false)
            #expect(show.status == ExitStatus.ioError.rawValue, "\(show.stderr)")
            #expect(show.stderr.contains("the replica is damaged") && show.stderr.contains("verify --deep"), "\(show.stderr)")

            // export writes every other article and refuses the damaged one, naming it.
            let directory = sandbox.root + "/export"
            let export = try await sandbox.client(["export", directory], server: false)
            #expect(export.status == ExitStatus.ioError.rawValue, "\(export.stderr)")
            #expect(export.stderr.contains("article \(Corpus.id(7))"), "\(export.stderr)")
            #expect(export.stderr.contains("does not match its content hash") || export.stderr.contains("cannot be read"), "\(export.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/\(Corpus.id(7)).txt"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".articlesync-tree") }.count == 29)
            #expect(FileManager.default.contents(atPath: directory + "/\(Corpus.id(8)).txt") == FileManager.default.contents(atPath: sandbox.corpus + "/\(Corpus.id(8)).txt"))
        }
    }

    // MARK: ids and text as their bytes (issue 12, 5, 6 and 7)

    @Test func longIdsEquivalentIdsAndNulBytesAllComeBackExactly() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 5, to: $0.corpus) }) { sandbox in
            let long = String(repeating: "ä", count: 127) + "x"  // 255 bytes: the longest id
            let almost = String(repeating: "b", count: 251)  // 251 + ".txt": the longest plain name
            let nfc = "caf\u{E9}"
            let nfd = "cafe\u{301}"
            let nul = "Veröffentlichungsdatum: 01.02.2024 08:15 / Politik\n\nMit Nullbyte\n\nMit Nullbyte\n\nVor dem \u{0} Nullbyte, danach Zeitenwende."
            let items = [
                PushItem(id: long, source: Array(Corpus.article(101).utf8)), PushItem(id: almost, source: Array(Corpus.article(102).utf8)),
                PushItem(id: nfc, source: Array(Corpus.article(103).utf8)), PushItem(id: nfd, source: Array(Corpus.article(104).utf8)),
                PushItem(id: "nul", source: Array(nul.utf8)),
            ]
            // One push: NFC and NFD are two ids, not "the id appears more than once".
            try await Self.push(sandbox, items)
            #expect(try await sandbox.client(["pull"]).status == 0)
            #expect(try await sandbox.client(["verify", "--deep"]).status == 0)

            let directory = sandbox.root + "/export"
            let export = try await sandbox.client(["export", directory], server: false)
            #expect(export.status == 0, "\(export.stderr)")
            let longName = Exporter.fileName(for: long)
            #expect(longName.hasPrefix("long-ids/") && longName.utf8.count - "long-ids/".utf8.count <= 255, "\(longName)")
            #expect(longName == Exporter.fileName(for: long), "deterministic")
            for item in items {
                let file = directory + "/" + Exporter.fileName(for: item.id)
                #expect(FileManager.default.contents(atPath: file).map { [UInt8]($0) } == item.source, "\(Exporter.fileName(for: item.id))")
            }
            // By their bytes: two files for café, and nothing removed by --delete.
            let top = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(top.filter { $0.hasSuffix(".txt") }.count == 5 + 4, "\(top)")
            let again = try await sandbox.client(["export", "--delete", "--json", directory], server: false)
            // Progress lines first, the summary last.
            let summary = try #require(again.lines.last.flatMap(jsonObject))
            #expect(summary["unchanged"] as? Int == 10 && summary["removed"] as? Int == 0, "\(again.stdout)")

            // The NFD article deleted: only its file goes.
            try await Self.push(sandbox, [PushItem(id: nfd, source: nil)])
            #expect(try await sandbox.client(["pull"]).status == 0)
            #expect(try await sandbox.client(["export", "--delete", directory], server: false).status == 0)
            #expect(FileManager.default.fileExists(atPath: directory + "/" + Exporter.fileName(for: nfc)))
            #expect(!FileManager.default.fileExists(atPath: directory + "/" + Exporter.fileName(for: nfd)))

            // The NUL byte and what follows it, in show, search and the source.
            let show = try await sandbox.client(["show", "nul"], server: false)
            #expect(show.stdout.contains("danach Zeitenwende"), "\(show.stdout)")
            let source = try await sandbox.client(["show", "--source", "nul"], server: false)
            #expect(Array(source.stdout.utf8) == Array(nul.utf8))
            let search = try await sandbox.client(["search", "--json", "Zeitenwende"], server: false)
            #expect(search.stdout.contains("\"nul\""), "\(search.stdout)")
        }
    }

    @Test func exportNamesFitAFileNameStayTheSameAndNeverCollide() {
        var names = Set<[UInt8]>()
        for length in 1...255 {
            for filler in ["x", "ä", "€", "😀"] {
                var id = String(repeating: filler, count: length / filler.utf8.count)
                id += String(repeating: "y", count: length - id.utf8.count)
                let name = Exporter.fileName(for: id)
                let components = name.split(separator: "/")
                #expect(components.allSatisfy { $0.utf8.count <= 255 }, "\(length) \(filler)")
                #expect(String(validating: Array(name.utf8), as: UTF8.self) != nil, "cut inside a character")
                #expect(name == Exporter.fileName(for: id))
                if length <= 251 { #expect(name == id + ".txt") } else { #expect(name.hasPrefix("long-ids/")) }
                names.insert(Array(name.utf8))
            }
        }
        // Distinct ids, distinct names (ids of one length and filler are the same id).
        #expect(names.count == Set((1...255).flatMap { length in ["x", "ä", "€", "😀"].map { filler -> [UInt8] in
            var id = String(repeating: filler, count: length / filler.utf8.count)
            id += String(repeating: "y", count: length - id.utf8.count)
            return Array(id.utf8)
        } }).count)
        // A short id that spells a long id's file name lives elsewhere: no clash.
        let long = String(repeating: "z", count: 253)
        let spelled = String(Exporter.fileName(for: long).dropFirst("long-ids/".count).dropLast(4))
        #expect(Exporter.fileName(for: spelled) != Exporter.fileName(for: long))
    }

    // MARK: private files (issue 12, 12)

    @Test func aNewReplicaIsReadableByItsOwnerOnlyInFoldersOnlyItsOwnerCanEnter() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 3, to: $0.corpus) }) { sandbox in
            let replica = sandbox.root + "/neu/tief/replica.sqlite"
            let pulled = try await sandbox.client(["pull"], replica: replica)
            #expect(pulled.status == 0)
            #expect(try Self.mode(sandbox.root + "/neu") == 0o700)
            #expect(try Self.mode(sandbox.root + "/neu/tief") == 0o700)
            #expect(try Self.mode(replica) == 0o600)
            #expect(try Self.mode(sandbox.server.storePath) == 0o600)
        }
    }

    // MARK: the importer's guards (issue 12, 1 and 13)

    @Test func articlesyncdImportRefusesAnEmptyFolderAndAMassDeletionAndSkipsLinksOutOfTheFolder() async throws {
        try await Sandbox.run { sandbox in
            let store = sandbox.root + "/archive.sqlite"
            let folder = sandbox.root + "/share"
            try Corpus.write(count: 20, to: folder)
            func importing(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
                let child = try ChildProcess(Binaries.server, ["import", "--store", store] + arguments)
                let status = try await child.wait()
                return (status, child.stdout, child.stderr)
            }
            #expect(try await importing([folder]).status == 0)
            // An unmounted share: an empty folder.
            let empty = sandbox.root + "/mnt"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            let unmounted = try await importing([empty, "--delete-missing"])
            #expect(unmounted.status == 5, "\(unmounted.stderr)")
            #expect(unmounted.stderr.contains("found no files"), "\(unmounted.stderr)")
            // Five of twenty gone: refused before anything is imported.
            for index in 0..<5 { try FileManager.default.removeItem(atPath: folder + "/" + Corpus.id(index) + ".txt") }
            let massive = try await importing([folder, "--delete-missing"])
            #expect(massive.status == 5, "\(massive.stderr)")
            #expect(massive.stderr.contains("would delete 5 of the store's 20 articles (25%"), "\(massive.stderr)")
            let allowed = try await importing([folder, "--delete-missing", "--max-delete-percent", "25"])
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(allowed.stdout.contains("5 deleted"), "\(allowed.stdout)")

            // A link out of the folder is skipped and said so; one inside is followed.
            let secret = sandbox.root + "/secret.txt"
            try Data(Corpus.article(77).utf8).write(to: URL(fileURLWithPath: secret))
            try FileManager.default.createSymbolicLink(atPath: folder + "/geheim.txt", withDestinationPath: secret)
            try FileManager.default.createSymbolicLink(atPath: folder + "/verweis.txt", withDestinationPath: folder + "/" + Corpus.id(10) + ".txt")
            let linked = try await importing([folder])
            #expect(linked.status == 2, "\(linked.stderr)")
            #expect(linked.stderr.contains("skipped \(folder)/geheim.txt: a symbolic link to \(secret), outside the folder"), "\(linked.stderr)")
            #expect(linked.stdout.contains("1 added") && linked.stdout.contains("1 symbolic links skipped"), "\(linked.stdout)")
        }
    }
}

extension ReplicaStore {
    /// The replica's state, then closed.
    func snapshotAndClose() async throws -> ReplicaSnapshot {
        defer { try? close() }
        return try await snapshot()
    }
}
