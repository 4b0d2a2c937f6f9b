import Foundation
import GRDB
import Testing

/// The real `articlesync` against a hostile server (`HostileServer`): each case checks the exit code,
/// the message, the client's peak memory, and that a replica the client refused to change is
/// unchanged and intact.
@Suite(.serialized) struct HostileServerTests {
    /// The most a client may hold whatever a server sends.
    static let peakLimitKiB = 64 * 1024

    struct Run {
        var status: Int32
        var exited: Bool
        var stdout: String
        var stderr: String
        var peakKiB: Int
    }

    /// Runs `articlesync` to the end (or kills it after `timeout`), sampling its peak memory.
    static func client(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> Run {
        let child = try ChildProcess(Binaries.client, arguments, environment: environment)
        defer { child.terminate() }
        let memory = child.samplePeakMemory()
        let status = try await child.wait(timeout: timeout)
        return Run(
            status: status, exited: child.process.terminationReason == .exit, stdout: child.stdout, stderr: child.stderr,
            peakKiB: memory.kibibytes())
    }

    /// A replica of `articles` articles pulled from a real server, which is gone afterwards: the
    /// replica follows that server's store at its head.
    static func pulledReplica(_ temp: TempDirectory, articles: Int = 30) async throws -> String {
        try Corpus.write(count: articles, to: temp.path + "/corpus")
        let server = try await ReliabilityServer(storePath: temp.path + "/server.sqlite", importDirectory: temp.path + "/corpus")
        let replica = temp.path + "/replica.sqlite"
        let pulled = try await client(["pull", "--replica", replica, "--server", "\(server.address)"])
        await server.stop()
        guard pulled.status == 0 else { throw TestFailure("the set-up pull failed: \(pulled.stderr)") }
        return replica
    }

    /// What a replica holds, as the client shows it (its cursor, store and every article's id and
    /// revision), after checking that SQLite finds the file intact.
    static func contents(of replica: String) async throws -> String {
        var configuration = Configuration()
        configuration.readonly = true
        let integrity = try await DatabaseQueue(path: replica, configuration: configuration).read { db in
            try String.fetchOne(db, sql: "PRAGMA integrity_check")
        }
        #expect(integrity == "ok", "integrity_check: \(integrity ?? "nil")")
        let status = try await client(["status", "--json", "--replica", replica])
        let list = try await client(["list", "--json", "--replica", replica])
        return status.stdout + "\n" + list.stdout
    }

    static func expectBounded(_ run: Run, _ name: String) {
        #expect(run.peakKiB > 0, "\(name): no memory sample")
        #expect(run.peakKiB <= peakLimitKiB, "\(name): client peak RSS \(run.peakKiB) KiB")
        print("hostile case \(name): exit \(run.status), client peak RSS \(run.peakKiB) KiB")
    }

    /// No byte of a C0 or C1 control but line feed, and none at all in `line`s meant to be one line.
    static func hasNoControls(_ text: String, keepingLineFeeds: Bool = true) -> Bool {
        !text.unicodeScalars.contains { scalar in
            if keepingLineFeeds && scalar == "\n" { return false }
            return scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
        }
    }

    // MARK: liveness and bounds (issue 12, 9)

    @Test func aServerTricklingAFrameByteByByteIsCutOffByTheFrameDeadline() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: 1_000)), connection.expect(HostileWire.pull) != nil else { return }
            // A BATCH that claims 10,000 bytes, then one byte every 300 ms: never silent for long.
            var trickle = HostileWire.u32(10_000) + [0x82, 0x00] + [UInt8](repeating: 0, count: 9_998)
            while !trickle.isEmpty, !connection.isStopped {
                guard connection.send([trickle.removeFirst()]) else { return }
                usleep(300_000)
            }
        }
        defer { server.stop() }
        let started = ContinuousClock.now
        let run = try await Self.client(
            ["pull", "--replica", replica, "--server", server.address], environment: ["ARTICLESYNC_READ_TIMEOUT": "2"],
            timeout: .seconds(30))
        let took = ContinuousClock.now - started

        #expect(run.status == 69 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("too slow"), "\(run.stderr)")
        #expect(took < .seconds(15), "cut off only after \(took)")
        Self.expectBounded(run, "trickling frame")
        #expect(try await Self.contents(of: replica) == before)
    }

    @Test func aFloodOfPingsDuringAPullEndsItInsteadOfQueueingPongs() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: 30)), connection.expect(HostileWire.pull) != nil else { return }
            // A million PINGs, a thousand per write, then the end of the response.
            let chunk = (0..<1_000).flatMap { HostileWire.ping(UInt64($0)) }
            for _ in 0..<1_000 {
                guard connection.send(chunk) else { return }
            }
            connection.send(HostileWire.caughtUp(30))
            connection.drainUntilClosed(timeout: .seconds(60))
        }
        defer { server.stop() }
        let run = try await Self.client(["pull", "--replica", replica, "--server", server.address], timeout: .seconds(90))

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("PINGs during one response"), "\(run.stderr)")
        Self.expectBounded(run, "a million PINGs")
        #expect(try await Self.contents(of: replica) == before)
    }

    @Test func followBacksOffMoreAndMoreFromAServerThatWelcomesAndThenFails() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            // Welcomes every time, then drops the connection as soon as the pull arrives.
            guard connection.handshake(HostileWire.welcome(head: 30)) else { return }
            _ = connection.readFrame()
        }
        defer { server.stop() }
        let child = try ChildProcess(Binaries.client, ["pull", "--follow", "--json", "--replica", replica, "--server", server.address])
        defer { child.terminate() }
        let memory = child.samplePeakMemory()
        func isReconnect(_ line: String) -> Bool { jsonObject(line)?["event"] as? String == "reconnecting" }
        var reconnects = 0
        _ = try await child.waitForLine(timeout: .seconds(90)) { line in
            if isReconnect(line) { reconnects += 1 }
            return reconnects == 5
        }
        let delays = child.stdoutLines.filter(isReconnect).prefix(5).map { jsonObject($0)?["delaySeconds"] as? Double ?? -1 }
        child.kill(SIGINT)
        _ = try await child.wait(timeout: .seconds(20))
        let run = Run(status: child.process.terminationStatus, exited: true, stdout: child.stdout, stderr: child.stderr, peakKiB: memory.kibibytes())

        // Full jitter below a ceiling that doubles: the first delay is the initial 0.25 s, the
        // later ones range up to 0.5, 1, 2, 4 s. Reset on every WELCOME, each was 0.25 s.
        #expect(delays.allSatisfy { $0 >= 0.25 }, "\(delays)")
        #expect(delays.dropFirst().contains { $0 > 0.3 }, "the backoff did not grow: \(delays)")
        #expect(server.connections >= 5)
        Self.expectBounded(run, "follow against a failing server")
        #expect(try await Self.contents(of: replica) == before)
    }

    // MARK: terminal escapes (issue 12, 10)

    static let hostileText = "\u{1B}]0;owned\u{07}\u{1B}[2J\u{9B}31m\rarticlesync: all good\nsecond line"

    @Test func anErrorSentenceWithTerminalEscapesIsPrintedEscapedOnOneLine() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let server = try HostileServer { connection in
            guard connection.readFrame()?.type == HostileWire.hello else { return }
            connection.send(HostileWire.error(code: 20, message: Self.hostileText))  // INTERNAL_ERROR
        }
        defer { server.stop() }
        let replica = temp.path + "/replica.sqlite"
        let run = try await Self.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.status == 69 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(Self.hasNoControls(run.stderr.trimmingCharacters(in: .newlines), keepingLineFeeds: false), "\(Array(run.stderr.unicodeScalars))")
        #expect(run.stderr.contains(#"\u{1B}]0;owned\u{07}\u{1B}[2J\u{9B}31m\u{0D}articlesync: all good\u{0A}second line"#), "\(run.stderr)")
        Self.expectBounded(run, "escapes in ERROR")

        let json = try await Self.client(["pull", "--json", "--replica", replica, "--server", server.address])
        #expect(Self.hasNoControls(json.stdout), "\(json.stdout)")
        #expect(jsonObject(json.stdout.trimmingCharacters(in: .newlines))?["exitCode"] as? Int == 69, "\(json.stdout)")
    }

    @Test func aSnapshotSentenceWithTerminalEscapesIsPrintedEscaped() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: 5)), connection.expect(HostileWire.pull) != nil else { return }
            connection.send(HostileWire.snapshotRequired(head: 5, message: Self.hostileText))
            // The early guard asks how many articles the server holds: none.
            guard connection.expect(HostileWire.verify) != nil else { return }
            connection.send(HostileWire.verifyResult(revision: 5, articleCount: 0))
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let run = try await Self.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.status == 5 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(Self.hasNoControls(run.stderr), "\(Array(run.stderr.unicodeScalars))")
        #expect(run.stderr.contains(#"\u{1B}]0;owned\u{07}\u{1B}[2J"#), "\(run.stderr)")
        Self.expectBounded(run, "escapes in SNAPSHOT_REQUIRED")
        #expect(try await Self.contents(of: replica) == before)
    }

    @Test func titlesIdsAndBodiesWithControlsAreShownEscapedButBodiesKeepTheirLines() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let corpus = temp.path + "/corpus"
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        let id = "evil\u{9B}2J"
        let source = "Veröffentlichungsdatum: 01.02.2024 08:15 / Politik\n\nTitel \u{1B}]0;owned\u{07}\n\nTitel \u{1B}]0;owned\u{07}\n\nErste Zeile\u{1B}[2J\nzweite\tZeile.\n\nZweiter Absatz."
        try Data(source.utf8).write(to: URL(fileURLWithPath: "\(corpus)/\(id).txt"))
        let server = try await ReliabilityServer(storePath: temp.path + "/server.sqlite", importDirectory: corpus)
        let replica = temp.path + "/replica.sqlite"
        let pulled = try await Self.client(["pull", "--replica", replica, "--server", "\(server.address)"])
        await server.stop()
        #expect(pulled.status == 0, "\(pulled.stderr)")

        let list = try await Self.client(["list", "--replica", replica])
        #expect(Self.hasNoControls(list.stdout), "\(Array(list.stdout.unicodeScalars))")
        #expect(list.stdout.contains(#"Titel \u{1B}]0;owned\u{07}"#) && list.stdout.contains(#"evil\u{9B}2J"#), "\(list.stdout)")

        let show = try await Self.client(["show", "--replica", replica, id])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!show.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B }, "\(show.stdout)")
        #expect(show.stdout.contains("Erste Zeile\\u{1B}[2J\nzweite\tZeile."), "\(show.stdout)")

        // JSON keeps JSON's escaping: the title comes back exactly.
        let json = try await Self.client(["list", "--json", "--replica", replica])
        let articles = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [[String: Any]]
        #expect(articles?.first?["title"] as? String == "Titel \u{1B}]0;owned\u{07}", "\(json.stdout)")
        #expect(articles?.first?["id"] as? String == id, "\(json.stdout)")
        Self.expectBounded(show, "escapes in titles and bodies")
    }

    // MARK: smaller (issue 12, 14)

    @Test func statusFailsWhenTheServerRefusesToTalk() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            guard connection.readFrame()?.type == HostileWire.hello else { return }
            connection.send(HostileWire.error(code: 9, message: "this server needs a token"))  // AUTH_REQUIRED
        }
        defer { server.stop() }
        let run = try await Self.client(["status", "--replica", replica, "--server", server.address])

        #expect(run.status == 77 && run.exited, "exit \(run.status): \(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("articles: 30") && run.stdout.contains("needs a token"), "\(run.stdout)")
        Self.expectBounded(run, "status refused")
        #expect(try await Self.contents(of: replica) == before)
    }

    @Test func caughtUpAtTheLargestRevisionIsBadServerDataNotAnIOError() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: .max)), connection.expect(HostileWire.pull) != nil else { return }
            connection.send(HostileWire.caughtUp(.max))
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let run = try await Self.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("CAUGHT_UP at revision 18446744073709551615"), "\(run.stderr)")
        Self.expectBounded(run, "CAUGHT_UP at 2^64-1")
        #expect(try await Self.contents(of: replica) == before)
    }

    @Test func statusRefusesACaughtUpBehindTheBatchItWasJustSent() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        // The hostile server claims the replica's own store, 10 revisions ahead of its cursor.
        let json = try await Self.client(["status", "--json", "--replica", replica]).stdout
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let cursor = UInt64(try #require(fields["cursor"] as? Int))
        let storeHex = try #require(fields["store"] as? String)
        let storeID = stride(from: 0, to: storeHex.count, by: 2).map { offset -> UInt8 in
            let start = storeHex.index(storeHex.startIndex, offsetBy: offset)
            return UInt8(storeHex[start..<storeHex.index(start, offsetBy: 2)], radix: 16)!
        }
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(storeID: storeID, head: cursor + 10)),
                connection.expect(HostileWire.verify) != nil
            else { return }
            // Status asks for the count at the head first, then counts what a pull would fetch.
            connection.send(HostileWire.verifyResult(revision: cursor + 10, articleCount: 31))
            guard connection.expect(HostileWire.pull) != nil else { return }
            connection.send(HostileWire.batch(from: cursor, to: cursor + 10, changes: [HostileWire.tombstone(revision: cursor + 10, id: "gone")]))
            connection.send(HostileWire.caughtUp(cursor + 2))
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let run = try await Self.client(["status", "--replica", replica, "--server", server.address])

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("CAUGHT_UP at \(cursor + 2) after a batch up to \(cursor + 10)"), "\(run.stdout)")
        Self.expectBounded(run, "status: CAUGHT_UP behind a batch")
        #expect(try await Self.contents(of: replica) == before)
    }

    @Test func aVerifyResultForAnotherRevisionThanAskedIsBadServerData() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: 40)), let verify = connection.expect(HostileWire.verify) else { return }
            connection.send(HostileWire.verifyResult(revision: verify.u64(at: 0) + 10, articleCount: 30))
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let run = try await Self.client(["verify", "--replica", replica, "--server", server.address])

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stdout) \(run.stderr)")
        #expect(run.stderr.contains("describes revision 40, not revision 30"), "\(run.stderr)")
        Self.expectBounded(run, "VERIFY_RESULT of another revision")
        #expect(try await Self.contents(of: replica) == before)
    }

    // MARK: traps (issue 12, 4)

    @Test func aVerifyResultCountingTwoToTheSixtyFourArticlesDoesNotCrashARebootstrap() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Self.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: 5)), connection.expect(HostileWire.pull) != nil else { return }
            connection.send(HostileWire.snapshotRequired(head: 5, message: "the store was recreated"))
            guard connection.expect(HostileWire.verify) != nil else { return }
            connection.send(HostileWire.verifyResult(revision: 5, articleCount: .max))
            // The re-bootstrap's pull: the "new store" is empty, so the guard must refuse the swap.
            guard connection.expect(HostileWire.pull) != nil else { return }
            connection.send(HostileWire.caughtUp(5))
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let run = try await Self.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.exited, "the client died of signal \(run.status): \(run.stderr)")
        #expect(run.status == 5, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("would delete 30 of the replica's 30 articles"), "\(run.stderr)")
        Self.expectBounded(run, "VERIFY_RESULT count 2^64-1")
        #expect(try await Self.contents(of: replica) == before)
    }
}
