import ArticleSyncClient
import Foundation
import Testing

/// Offline reading commands on a pulled replica.
@Suite("list, show and search on a replica", .serialized)
struct ReadingEndToEndTests {
    static func prepare(_ sandbox: Sandbox) throws {
        try Corpus.write(count: 24, to: sandbox.corpus)
        try Corpus.writeMessy(to: sandbox.corpus)
    }

    @Test func readingCommandsWorkOfflineOnAPulledReplica() async throws {
        try await Sandbox.run(prepare: Self.prepare) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            // The server goes away: everything below must work without it.
            await sandbox.server.stop()

            // search: German words with umlauts and ß, ranked, with marked snippets.
            for word in ["Straße", "Bürgermeister", "Grüße"] {
                let run = try await sandbox.client(["search", word], server: false)
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stdout.contains("«"), "no marked snippet for \(word): \(run.stdout)")
                #expect(run.stdout.lowercased().contains(word.lowercased()))
            }
            let json = try await sandbox.client(["search", "--json", "Grüße"], server: false)
            let hits = try #require((try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [[String: Any]])
            #expect((hits.first?["article"] as? [String: Any])?["id"] as? String == "messy-bom")

            // list: newest first, filtered by category and dates.
            let list = try await sandbox.client(["list", "--json"], server: false)
            let all = try #require((try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8))) as? [[String: Any]])
            #expect(all.count == 24 + Corpus.messy.count)
            let dates = all.compactMap { $0["published"] as? String }
            #expect(dates == dates.sorted(by: >))
            let sport = try await sandbox.client(["list", "--json", "--category", "Sport", "--since", "2024-02-01", "--until", "03.02.2024"], server: false)
            let sportItems = try #require((try? JSONSerialization.jsonObject(with: Data(sport.stdout.utf8))) as? [[String: Any]])
            #expect(sportItems.map { $0["id"] as? String } == ["messy-norepeat"])

            // show: date, category, title and wrapped paragraphs.
            let show = try await sandbox.client(["show", Corpus.id(5)], server: false)
            #expect(show.status == 0)
            let lines = show.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.first?.contains(" · ") == true)
            #expect(show.stdout.contains("Meldung 5:"))
            #expect(lines.allSatisfy { $0.count <= 80 }, "paragraphs are wrapped to the width")
            let source = try await sandbox.client(["show", "--source", "messy-crlf"], server: false)
            #expect(Array(source.stdout.utf8) == Corpus.messy["messy-crlf"])
        }
    }
}

/// Errors people see, and the help text.
@Suite("messages and help")
struct MessagesTests {
    @Test func anUnreachableServerIsOneActionableSentence() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let run = try await sandbox.client(["pull", "--server", "127.0.0.1:1"], server: false)
        #expect(run.status == ExitStatus.unavailable.rawValue)
        #expect(run.stderr == "articlesync: cannot reach 127.0.0.1:1: connection refused\n")
    }

    @Test func readingCommandsWithoutAReplicaSayWhatToDo() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let run = try await sandbox.client(["list"], server: false)
        #expect(run.status == ExitStatus.failure.rawValue)
        #expect(run.stderr.contains("run `articlesync pull` first"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.replica))
    }

    @Test func aMissingServerIsAUsageError() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let run = try await sandbox.client(["verify"], server: false)
        #expect(run.status == ExitStatus.usage.rawValue)
        #expect(run.stderr.contains("ARTICLESYNC_SERVER"))
    }

    @Test(arguments: [
        ([] as [String], ["pull", "status", "list", "show", "search", "export", "verify", "push", "EXIT CODES", " 69 ", " 65 ", "ARTICLESYNC_SERVER"]),
        (["pull"], ["--follow", "--force", "--mirror", "--max-delete-percent", "--server", "--replica", "--json", "--quiet"]),
        (["status"], ["--server", "--replica", "--json"]),
        (["list"], ["--category", "--since", "--until", "--limit"]),
        (["show"], ["<id>", "--source"]),
        (["search"], ["<text>", "--limit", "umlauts"]),
        (["export"], ["<dir>", "--delete", "byte-identical"]),
        (["verify"], ["exact", "--server"]),
        (["push"], ["<file-or-dir>", "--delete", "--force", "CONFLICT"]),
    ])
    func helpNamesTheKeyFlags(command: [String], expected: [String]) async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let child = try ChildProcess(Binaries.client, command + ["--help"], environment: ["COLUMNS": "200"])
        let status = try await child.wait()
        #expect(status == 0)
        for text in expected {
            #expect(child.stdout.contains(text), "`articlesync \(command.joined(separator: " ")) --help` lacks \(text)")
        }
    }

    @Test func anEmptyFileIsNotReadAsAReplicaWithNoArticle() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let empty = sandbox.root + "/empty.sqlite"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let child = try ChildProcess(Binaries.client, ["list", "--replica", empty])
        #expect(try await child.wait() == 1)
        #expect(child.stderr.contains("is an empty file, not a replica"), "\(child.stderr)")
        #expect((try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int) == 0, "nothing was written into it")
    }

    /// A script that reads stdout with --json learns why the command failed, whatever failed: a
    /// flag, a value, a setting the command found missing while it ran.
    @Test(arguments: [
        (["pull", "--bogus"], "Unknown option '--bogus'"),
        (["list", "--since", "notadate"], "notadate"),
        (["list", "--until", "31.02.2019"], "31.02.2019"),
        (["search"], "Missing expected argument"),
        (["pull"], "no server given"),
    ])
    func everyUsageErrorIsAJSONObjectOnStdoutWithJSON(arguments: [String], expected: String) async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(atPath: sandbox.root) }
        let environment = ["HOME": sandbox.root, "XDG_CONFIG_HOME": sandbox.root + "/config"]
        let child = try ChildProcess(Binaries.client, arguments + ["--json", "--replica", sandbox.root + "/r.sqlite"], environment: environment)
        #expect(try await child.wait() == 64)
        let object = try #require(jsonObject(child.stdout), "\(child.stdout)")
        #expect((object["error"] as? String)?.contains(expected) == true, "\(object)")
        #expect(object["exitCode"] as? Int == 64)
        #expect(child.stderr.contains("See 'articlesync \(arguments[0]) --help'"), "\(child.stderr)")

        // Without --json, stdout stays empty.
        let plain = try ChildProcess(Binaries.client, arguments + ["--replica", sandbox.root + "/r.sqlite"], environment: environment)
        #expect(try await plain.wait() == 64)
        #expect(plain.stdout.isEmpty, "\(plain.stdout)")
    }
}
