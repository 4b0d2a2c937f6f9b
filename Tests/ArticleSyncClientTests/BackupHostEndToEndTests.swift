import ArticleSyncClient
import Foundation
import Testing

/// The backup host's side of issue 17, driven through the real programs: the config file, status
/// of an unattended mirror, and errors that say what happened and what to do.
@Suite struct BackupHostEndToEndTests {
    // MARK: config file

    /// The README's laptop example against the README's secured server: once the pin is
    /// remembered, a config file with the server and the token file is all `pull` needs.
    @Test func aConfigFileAndARememberedPinAreAllAPullFromASecuredServerNeeds() async throws {
        let sandbox = try Sandbox()
        var children: [ChildProcess] = []
        func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) async throws -> Sandbox.Run {
            let child = try ChildProcess(executable, arguments, environment: environment)
            children.append(child)
            let status = try await child.wait()
            return Sandbox.Run(status: status, stdout: child.stdout, stderr: child.stderr, lines: child.stdoutLines)
        }
        defer {
            for child in children { child.terminate() }
            try? FileManager.default.removeItem(atPath: sandbox.root)
        }
        let root = sandbox.root
        let made = try await run(
            Binaries.server, ["cert", "generate", "--out-cert", root + "/server.crt", "--out-key", root + "/server.key", "--host", "127.0.0.1"])
        #expect(made.status == 0, "\(made.stderr)")
        let pinLine = try #require(made.stdout.split(separator: "\n").first { $0.contains("--pin ") })
        let pin = String(try #require(pinLine.components(separatedBy: "--pin ").last))
        let token = try await run(Binaries.server, ["token", "add", "--file", root + "/tokens", "--role", "read", "--name", "laptop", "--quiet"])
        #expect(token.status == 0, "\(token.stderr)")
        try Corpus.write(count: 40, to: sandbox.corpus)
        let server = try ChildProcess(Binaries.server, [
            "serve", "--store", root + "/server.sqlite", "--port", "0", "--import", sandbox.corpus, "--tokens", root + "/tokens",
            "--tls-cert", root + "/server.crt", "--tls-key", root + "/server.key",
        ])
        children.append(server)
        let line = try await server.waitForLine(timeout: .seconds(120)) { $0.contains("listening on ") }
        let address = line.components(separatedBy: "listening on ").last!.trimmingCharacters(in: .whitespaces)

        // A home of its own: the config file in its default place, nothing named by the environment.
        let home = root + "/home"
        try FileManager.default.createDirectory(atPath: home + "/.config/articlesync", withIntermediateDirectories: true)
        try token.stdout.trimmingCharacters(in: .whitespacesAndNewlines).write(toFile: home + "/.config/articlesync/token", atomically: true, encoding: .utf8)
        try """
            # the laptop
            server = "\(address)"
            token-file = "~/.config/articlesync/token"
            """.write(toFile: home + "/.config/articlesync/config", atomically: true, encoding: .utf8)
        let environment = ["HOME": home, "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "", "ARTICLESYNC_CONFIG": ""]

        let first = try await run(Binaries.client, ["pull", "--pin", pin], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let again = try await run(Binaries.client, ["pull"], environment: environment)
        #expect(again.status == 0, "no --tls, no --server, no --token-file: \(again.stderr)")
        #expect(again.stdout.contains("already up to date at revision 40"), "\(again.stdout)")

        let shown = try await run(Binaries.client, ["config", "show"], environment: environment)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("config file: \(home)/.config/articlesync/config (read)"), "\(shown.stdout)")
        #expect(shown.stdout.contains("server         \(address)    [\(home)/.config/articlesync/config line 2]"), "\(shown.stdout)")
        #expect(shown.stdout.contains("tls            on    [a pin in \(home)/.local/share/articlesync/known_servers line"), "\(shown.stdout)")
        #expect(shown.stdout.contains("token-file     \(home)/.config/articlesync/token    [\(home)/.config/articlesync/config line 3]"), "\(shown.stdout)")

        // A flag still wins over the file.
        let flagged = try await run(Binaries.client, ["config", "show", "--json", "--server", "other:1"], environment: environment)
        let json = try #require(jsonObject(flagged.stdout))
        let settings = try #require(json["settings"] as? [[String: Any]])
        let serverRow = try #require(settings.first { $0["key"] as? String == "server" })
        #expect(serverRow["value"] as? String == "other:1")
        #expect(serverRow["origin"] as? String == "--server")
    }

    @Test func aMistakeInTheConfigFileNamesTheFileTheLineAndTheKey() async throws {
        try await Sandbox.run { sandbox in
            let config = try sandbox.write(Array("server = \"h:1\"\nmirror = \"yes\"\n".utf8), to: "config")
            let run = try await sandbox.client(["list", "--config", config], server: false)
            #expect(run.status == 64)
            #expect(run.stderr.contains("\(config) line 2: mirror: expected true or false"), "\(run.stderr)")
        }
    }

    @Test func theConfigFilesMirrorKeyMakesPullKeepAMirror() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 10, to: $0.corpus) }) { sandbox in
            let config = try sandbox.write(Array("mirror = true\n".utf8), to: "config")
            let pulled = try await sandbox.client(["pull", "--config", config])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            let status = try await sandbox.client(["status", "--json"])
            #expect(jsonObject(status.stdout)?["kind"] as? String == "mirror", "\(status.stdout)")
        }
    }

    @Test func aDirectoryGivenAsTheReplicaIsNamedAsADirectory() async throws {
        try await Sandbox.run { sandbox in
            let folder = sandbox.root + "/backup"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (command, online) in [(["pull"], true), (["list"], false), (["status"], true)] {
                let run = try await sandbox.client(command, replica: folder, server: online)
                #expect(run.status == 64, "\(command): \(run.stderr)")
                #expect(run.stderr.contains("the replica \(folder) (from --replica) is a directory, not a replica file"), "\(run.stderr)")
                #expect(run.stderr.contains("--replica \(folder)/replica.sqlite"), "\(run.stderr)")
                #expect(!run.stderr.contains("SQLite"), "\(run.stderr)")
            }
        }
    }

    // MARK: status

    @Test func statusShowsTheKindTheSizeAndTheLastSuccessfulPull() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 30, to: $0.corpus) }) { sandbox in
            let started = Date().timeIntervalSince1970
            #expect(try await sandbox.client(["pull"]).status == 0)
            // Five edits on the server, one article twice: five revisions ahead, four articles to fetch.
            for (edit, index) in [0, 1, 2, 3, 3].enumerated() {
                let file = try sandbox.write(Array(Corpus.article(index, edit: edit + 1).utf8), to: "edits/\(Corpus.id(index)).txt")
                #expect(try await sandbox.client(["push", "--force", file]).status == 0)
            }
            let text = try await sandbox.client(["status"])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("kind:     reading (text and search index)"), "\(text.stdout)")
            #expect(text.stdout.contains("articles: 30"), "\(text.stdout)")
            #expect(text.stdout.contains("ago): 30 articles and 0 deletions, up to revision 30 from \(sandbox.server.address)"), "\(text.stdout)")
            #expect(text.stdout.contains("at revision 35, 30 articles, 5 revisions ahead of the replica: 4 articles to fetch (0 new, 4 changed) and 0 to delete"), "\(text.stdout)")

            let json = try #require(jsonObject(try await sandbox.client(["status", "--json"]).stdout))
            #expect(json["kind"] as? String == "reading")
            #expect((json["sizeBytes"] as? Int ?? 0) > 0)
            #expect(json["behind"] as? Int == 5)
            #expect(json["toFetch"] as? Int == 4 && json["toDelete"] as? Int == 0, "\(json)")
            #expect(json["serverArticles"] as? Int == 30)
            let last = try #require(json["lastPull"] as? [String: Any])
            #expect(last["revision"] as? Int == 30)
            #expect(last["applied"] as? Int == 30)
            #expect((last["finishedAtUnix"] as? Double ?? 0) >= started.rounded(.down))

            // A pull that fails records nothing: the last success stays what it was.
            await sandbox.server.stop()
            #expect(try await sandbox.client(["pull"]).status == 69)
            let after = try #require(jsonObject(try await sandbox.client(["status", "--json"], server: false).stdout))
            #expect((after["lastPull"] as? [String: Any])?["revision"] as? Int == 30)
        }
    }

    // MARK: errors

    @Test func aPortThatIsNotAnArticlesyncServerIsNamedWithinTheHandshakeDeadline() async throws {
        // A listener that reads and never answers, as a busy service of another kind would.
        let silent = try HostileServer { connection in _ = connection.drainUntilClosed(timeout: .seconds(30)) }
        defer { silent.stop() }
        let started = ContinuousClock.now
        let child = try ChildProcess(
            Binaries.client, ["pull", "--server", silent.address, "--replica", NSTemporaryDirectory() + "never-\(UUID().uuidString).sqlite"],
            environment: ["ARTICLESYNC_HANDSHAKE_TIMEOUT": "1"])
        defer { child.terminate() }
        let status = try await child.wait(timeout: .seconds(30))
        #expect(status == 69)
        #expect(child.stderr.contains("did not complete the articlesync handshake within 1 s: it is not an articlesync server"), "\(child.stderr)")
        #expect(ContinuousClock.now - started < .seconds(15), "the read timeout (120 s) is not what ended it")

        // A peer that answers, but not in our frames (an HTTP server's reply): named at once.
        let web = try HostileServer { connection in
            _ = connection.read(8)
            _ = connection.send(Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
            _ = connection.drainUntilClosed(timeout: .seconds(30))
        }
        defer { web.stop() }
        let http = try ChildProcess(Binaries.client, ["status", "--server", web.address, "--replica", "/nonexistent/r.sqlite"])
        defer { http.terminate() }
        #expect(try await http.wait(timeout: .seconds(30)) == 69)
        #expect(http.stdout.contains("is not an articlesync server: its answer to HELLO is not an articlesync frame"), "\(http.stdout)")
    }

    @Test func aDifferentServerIsExplainedNotAnsweredWithAdviceToForce() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 20, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            let otherCorpus = sandbox.root + "/other"
            try FileManager.default.createDirectory(atPath: otherCorpus, withIntermediateDirectories: true)
            for index in 0..<20 {
                try Corpus.article(100 + index).write(toFile: otherCorpus + "/other\(index).txt", atomically: true, encoding: .utf8)
            }
            let other = try await TestServer(storePath: sandbox.root + "/other.sqlite", importDirectory: otherCorpus)
            let run = try await sandbox.client(["pull", "--server", "\(other.address)"], server: false)
            await other.stop()
            #expect(run.status == ExitStatus.guardRefused.rawValue, "\(run.stderr)")
            #expect(run.stderr.contains("\(other.address) holds another store"), "\(run.stderr)")
            #expect(run.stderr.contains("it is a different server, or its store was recreated"), "\(run.stderr)")
            #expect(run.stderr.contains("would delete 20 of the replica's 20 articles (100%) and replace the replica with its copy; nothing was changed"), "\(run.stderr)")
            #expect(run.stderr.contains("pull it into a new file: --replica OTHER.sqlite"), "\(run.stderr)")
            #expect(!run.stderr.contains("Re-run with --force"), "\(run.stderr)")
            let status = try #require(jsonObject(try await sandbox.client(["status", "--json"]).stdout))
            #expect(status["articles"] as? Int == 20)
            #expect(status["behind"] as? Int == 0, "the replica still follows its own server")
        }
    }

    @Test func pushWalksFoldersRecursivelyAndSaysWhenThereIsNothingToPush() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 3, to: $0.corpus) }) { sandbox in
            #expect(try await sandbox.client(["pull"]).status == 0)
            _ = try sandbox.write(Array(Corpus.article(50).utf8), to: "outbox/ab/new00050.txt")
            _ = try sandbox.write(Array(Corpus.article(51).utf8), to: "outbox/cd/ef/new00051.txt")
            _ = try sandbox.write(Array("ignored".utf8), to: "outbox/.hidden/new00052.txt")
            let pushed = try await sandbox.client(["push", sandbox.root + "/outbox"])
            #expect(pushed.status == 0, "\(pushed.stderr)")
            #expect(pushed.stdout.contains("applied    new00050"), "\(pushed.stdout)")
            #expect(pushed.stdout.contains("applied    new00051"), "\(pushed.stdout)")
            #expect(pushed.stdout.contains("pushed 2: 2 applied"), "\(pushed.stdout)")

            try FileManager.default.createDirectory(atPath: sandbox.root + "/empty/only/folders", withIntermediateDirectories: true)
            let empty = try await sandbox.client(["push", sandbox.root + "/empty"])
            #expect(empty.status == 0)
            #expect(empty.stdout.contains("nothing to push: \(sandbox.root)/empty holds no files"), "\(empty.stdout)")
        }
    }

    @Test func ctrlCDuringAPullSaysWhereItStoppedAndThatPullResumes() async throws {
        try await Sandbox.run(prepare: { try Corpus.write(count: 1500, to: $0.corpus, noise: true) }) { sandbox in
            // SIGINT as soon as the first batch is committed; small batches keep the pull going.
            let trigger = ChildProcess.Trigger(afterLine: 1, signal: SIGINT) { $0.contains("\"event\":\"batch\"") }
            let child = try sandbox.startClient(["pull", "--json", "--budget", "4096"], trigger: trigger)
            let status = try await child.wait(timeout: .seconds(120))
            #expect(child.signalledAt != nil)
            #expect(status == 130, "\(child.stderr)")
            let message = try #require(child.stderr.split(separator: "\n").first { $0.hasPrefix("stopped at revision ") }, "\(child.stderr)")
            #expect(message.hasSuffix("; `articlesync pull` resumes"), "\(message)")
            let stoppedAt = Int(message.dropFirst("stopped at revision ".count).prefix { $0.isNumber }) ?? -1
            #expect(stoppedAt > 0 && stoppedAt < 1500, "\(message)")

            let between = try #require(jsonObject(try await sandbox.client(["status", "--json"]).stdout))
            #expect((between["cursor"] as? Int ?? -1) >= stoppedAt)
            let resumed = try await sandbox.client(["pull", "--json"])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            let done = try #require(resumed.lines.last.flatMap(jsonObject))
            #expect(done["startCursor"] as? Int == between["cursor"] as? Int)
            #expect(done["cursor"] as? Int == 1500)
        }
    }
}
