import ArticleSyncClient
import Foundation
import Testing

/// Hostile peers against a real `articlesyncd serve`: each is refused or closed as PROTOCOL.md says,
/// the server stays up, a well-behaved client pulls at the same time, and memory stays bounded.
@Suite(.serialized) struct HostilePeerTests {
    /// A hostile scenario with a served corpus and a concurrent well-behaved pull.
    static func withServer(
        articles: Int = 200, noise: Bool = false, paragraphs: Int = 4, arguments: [String] = ["--handshake-timeout", "1", "--idle-timeout", "1"],
        anonymousWrite: Bool = true, _ body: (ReliabilityServer, TempDirectory) async throws -> Void
    ) async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        try Corpus.write(count: articles, to: temp.path + "/corpus", paragraphs: paragraphs, noise: noise)
        let server = try await ReliabilityServer(
            storePath: temp.path + "/server.sqlite", importDirectory: temp.path + "/corpus", arguments: arguments, anonymousWrite: anonymousWrite)
        do {
            try await body(server, temp)
        } catch {
            await server.stop()
            throw error
        }
        #expect(server.isRunning, "the server died")
        await server.stop()
    }

    /// A full pull into a fresh replica, then VERIFY: the replica must equal the server's store.
    static func wellBehavedPull(_ server: ReliabilityServer, _ temp: TempDirectory, expecting articles: Int) async throws {
        let replica = temp.path + "/replica-\(UUID().uuidString).sqlite"
        let report = try await Syncer(configuration: server.configuration, replicaPath: replica, options: SyncOptions()).pull()
        #expect(report.applied == articles)
        let verify = try await Verifier(configuration: server.configuration, replicaPath: replica).verify()
        #expect(verify.isExact, "replica differs: \(verify.differences)")
    }

    /// Runs `hostile`, which blocks on raw sockets, on a thread of its own while a well-behaved client
    /// pulls; returns what `hostile` returns.
    static func alongsidePull<T: Sendable>(
        _ server: ReliabilityServer, _ temp: TempDirectory, articles: Int, _ hostile: @escaping @Sendable () throws -> T
    ) async throws -> T {
        async let result = onDedicatedThread(hostile)
        try await wellBehavedPull(server, temp, expecting: articles)
        return try await result
    }

    @Test func randomBytesAreRefusedAndTheServerKeepsServing() async throws {
        try await Self.withServer { server, temp in
            let port = server.port
            let before = server.memory.rss
            let outcomes = try await Self.alongsidePull(server, temp, articles: 200) {
                var generator = SplitMix64(seed: 7)
                var results: [Bool] = []
                for round in 0..<20 {
                    let peer = try RawPeer(port: port)
                    // Not 0x16 first (that is the TLS sniffing path, tested elsewhere).
                    var bytes = (0..<(1 << (8 + round % 8))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                    bytes[0] = bytes[0] == 0x16 ? 0x17 : bytes[0]
                    peer.send(bytes)
                    results.append(peer.readUntilClosed(timeout: .seconds(5)).closed)
                }
                return results
            }
            #expect(outcomes.allSatisfy { $0 }, "a connection sending garbage was not closed")
            #expect(server.memory.rss - before < 32 * 1024)
        }
    }

    @Test func fourGiBLengthPrefixIsRefusedAtOnceWithoutBuffering() async throws {
        try await Self.withServer { server, temp in
            let port = server.port
            let before = server.memory.rss
            let (code, closed) = try await Self.alongsidePull(server, temp, articles: 200) {
                let peer = try RawPeer(port: port)
                peer.send([0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00] + [UInt8](repeating: 0x41, count: 60_000))
                let answer = peer.readUntilClosed(timeout: .seconds(5))
                return (Wire.firstErrorCode(answer.bytes), answer.closed)
            }
            #expect(code == 2)  // FRAME_TOO_LARGE
            #expect(closed)
            #expect(server.memory.rss - before < 16 * 1024)
        }
    }

    @Test func smallFrameInflatingToGigabytesCostsNothing() async throws {
        // 1 GiB of zeros in about 1 MiB: within the 16 MiB frame limit after the handshake.
        let bomb = ZlibBomb.zeros(inflatedSize: 1 << 30)
        try await Self.withServer(arguments: ["--handshake-timeout", "5", "--idle-timeout", "5"]) { server, temp in
            let port = server.port
            let before = server.memory.rss
            let codes = try await Self.alongsidePull(server, temp, articles: 200) {
                var codes: [UInt16?] = []
                // A PING that claims 8 inflated bytes, then one claiming the 64 MiB maximum, then one over it.
                for claimed: UInt32 in [8, 67_108_864, 0xFFFF_FFFF] {
                    let peer = try RawPeer(port: port)
                    peer.send(Wire.hello())
                    guard peer.readFrame()?.type == 0x81 else { codes.append(nil); continue }
                    peer.send(Wire.frame(type: 0x10, flags: 0x01, payload: Wire.u32(claimed) + bomb))
                    codes.append(Wire.firstErrorCode(peer.readUntilClosed(timeout: .seconds(10)).bytes))
                }
                return codes
            }
            #expect(codes == [4, 4, 3])  // BAD_COMPRESSION twice, INFLATED_TOO_LARGE
            // At most one 64 MiB inflation buffer plus the 1 MiB frame: never the gigabyte.
            #expect(server.memory.peak - before < 160 * 1024, "peak \(server.memory.peak) KiB from \(before) KiB")
        }
    }

    @Test func unknownTypeWrongStateAndNoCommonVersionAreFatalErrors() async throws {
        try await Self.withServer { server, temp in
            let port = server.port
            let codes = try await Self.alongsidePull(server, temp, articles: 200) {
                func answer(_ bytes: [UInt8]) throws -> UInt16? {
                    let peer = try RawPeer(port: port)
                    peer.send(bytes)
                    let reply = peer.readUntilClosed(timeout: .seconds(5))
                    return reply.closed ? Wire.firstErrorCode(reply.bytes) : nil
                }
                return [
                    try answer(Wire.frame(type: 0x55, payload: [1, 2, 3])),  // unknown type
                    try answer(Wire.pullBootstrap()),  // PULL before HELLO
                    try answer(Wire.hello(minVersion: 2, maxVersion: 9)),  // no common version
                    try answer(Wire.frame(type: 0x81, payload: [])),  // a server message from a client
                ]
            }
            #expect(codes == [5, 6, 8, 6])
        }
    }

    @Test func truncatedFramesFollowedByAHangAreClosedByTheTimeouts() async throws {
        try await Self.withServer { server, temp in
            let port = server.port
            let results = try await Self.alongsidePull(server, temp, articles: 200) {
                let start = ContinuousClock.now
                // Half a HELLO, then nothing: the handshake deadline (1 s).
                let early = try RawPeer(port: port)
                early.send(Array(Wire.hello().prefix(9)))
                let first = early.readUntilClosed(timeout: .seconds(10))
                let firstTime = ContinuousClock.now - start
                // A complete handshake, then half a PULL: the idle timeout (1 s).
                let late = try RawPeer(port: port)
                late.send(Wire.hello())
                _ = late.readFrame()
                late.send(Array(Wire.pullBootstrap().prefix(11)))
                let second = late.readUntilClosed(timeout: .seconds(10))
                return (Wire.firstErrorCode(first.bytes), first.closed, firstTime, Wire.firstErrorCode(second.bytes), second.closed)
            }
            #expect(results.0 == 12 && results.1)  // HANDSHAKE_TIMEOUT
            #expect(results.2 < .seconds(5))
            #expect(results.3 == 13 && results.4)  // IDLE_TIMEOUT
        }
    }

    @Test func slowLorisTricklingOneByteAtATimeIsClosedAllTheSame() async throws {
        try await Self.withServer { server, temp in
            let port = server.port
            let result = try await Self.alongsidePull(server, temp, articles: 200) {
                let peer = try RawPeer(port: port)
                let start = ContinuousClock.now
                // A frame that claims 60,000 bytes (under MAX_HELLO_FRAME), one byte every 250 ms.
                let trickle = Wire.u32(60_000) + [0x01, 0x00] + [UInt8](repeating: 0x41, count: 100)
                var sentAll = true
                for byte in trickle {
                    if !peer.send([byte]) { sentAll = false; break }
                    var poller = pollfd(fd: peer.fd, events: Int16(POLLIN), revents: 0)
                    if poll(&poller, 1, 250) > 0 { break }  // the server answered (and closes)
                    if ContinuousClock.now - start > .seconds(10) { break }
                }
                let answer = peer.readUntilClosed(timeout: .seconds(5))
                return (Wire.firstErrorCode(answer.bytes), answer.closed, ContinuousClock.now - start, sentAll)
            }
            #expect(result.0 == 12)  // HANDSHAKE_TIMEOUT, although bytes kept coming
            #expect(result.1)
            #expect(result.2 < .seconds(5), "closed only after \(result.2)")
        }
    }

    @Test func aThousandIdleConnectionsDoNotStopAWellBehavedClient() async throws {
        try await Self.withServer(arguments: ["--handshake-timeout", "60", "--idle-timeout", "60", "--max-connections", "1100"]) { server, temp in
            try Self.raiseFileLimit(to: 4_096)
            let before = server.memory.rss
            let port = server.port
            var (peers, answered) = try await onDedicatedThread {
                var peers: [RawPeer] = []
                for index in 0..<1_000 {
                    let peer = try RawPeer(port: port)
                    // Half complete the handshake and idle in READY, half never say anything.
                    if index % 2 == 0 { peer.send(Wire.hello()) }
                    peers.append(peer)
                }
                // Every handshake answered: the server has taken all of them.
                let answered = peers.enumerated().filter { $0.offset % 2 == 0 && $0.element.readFrame()?.type == 0x81 }.count
                return (peers, answered)
            }
            #expect(answered == 500)
            try await Self.wellBehavedPull(server, temp, expecting: 200)
            let growth = server.memory.rss - before
            // An idle NIO connection costs a channel, a handler pipeline and its timers: allow 64 KiB each.
            #expect(growth < 1_000 * 64, "\(growth) KiB for 1000 idle connections")
            peers.removeAll()
            try await Self.wellBehavedPull(server, temp, expecting: 200)
        }
    }

    @Test func clientsThatReadNothingWhileTheServerStreamsDoNotGrowItsMemory() async throws {
        // About 8 MiB of poorly compressing articles; 24 stalled readers would pin 190 MiB if the
        // server buffered whole responses instead of waiting for the socket to drain.
        try await Self.withServer(articles: 1_500, noise: true, paragraphs: 8, arguments: []) { server, temp in
            try await Self.wellBehavedPull(server, temp, expecting: 1_500)
            let before = server.memory.rss
            let port = server.port
            let (stalled, welcomed) = try await onDedicatedThread {
                var stalled: [RawPeer] = []
                var welcomed = 0
                for _ in 0..<24 {
                    let peer = try RawPeer(port: port)
                    peer.setReceiveBuffer(4_096)
                    peer.send(Wire.hello())
                    if peer.readFrame()?.type == 0x81 { welcomed += 1 }
                    peer.send(Wire.pullBootstrap(budget: 65_536))
                    stalled.append(peer)
                }
                return (stalled, welcomed)
            }
            #expect(welcomed == 24)
            // The well-behaved pull takes long enough for stalled streams to have filled every buffer.
            try await Self.wellBehavedPull(server, temp, expecting: 1_500)
            let growth = server.memory.rss - before
            #expect(growth < 64 * 1024, "\(growth) KiB with 24 stalled readers")
            // And a stalled reader that starts reading gets its stream where it stopped.
            let first = stalled[0]
            let frames = try await onDedicatedThread { (0..<8).compactMap { _ in first.readFrame()?.type } }
            #expect(frames == [UInt8](repeating: 0x82, count: 8))
        }
    }

    @Test func aPeerThatReadsNothingOfAResponseIsClosedAfterTheStallTimeout() async throws {
        let arguments = ["--stall-timeout", "2", "--log-level", "warning"]
        try await Self.withServer(articles: 1_500, noise: true, paragraphs: 8, arguments: arguments) { server, temp in
            let port = server.port
            let (peer, welcomed) = try await onDedicatedThread {
                let peer = try RawPeer(port: port)
                peer.send(Wire.hello())
                let welcomed = peer.readFrame()?.type == 0x81
                peer.send(Wire.pullBootstrap(budget: 65_536))
                return (peer, welcomed)
            }
            #expect(welcomed)
            // Wait for the server to say it closed the stalled connection (polling its log, no sleep).
            let deadline = ContinuousClock.now + .seconds(30)
            while !server.child.stderr.contains("took nothing of the response"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(server.child.stderr.contains("took nothing of the response"), "\(server.child.stderr)")
            // What was already in the kernel's buffers still arrives, then the end of the stream.
            let rest = try await onDedicatedThread { peer.readUntilClosed(timeout: .seconds(20)) }
            let (closed, received) = (rest.closed, rest.bytes.count)
            #expect(closed)
            #expect(received < 6 * 1_048_576, "the server went on streaming: \(received) bytes")
            try await Self.wellBehavedPull(server, temp, expecting: 1_500)
        }
    }

    static func raiseFileLimit(to wanted: rlim_t) throws {
        var limit = rlimit()
        getrlimit(RLIMIT_NOFILE_VALUE, &limit)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            setrlimit(RLIMIT_NOFILE_VALUE, &limit)
        }
        getrlimit(RLIMIT_NOFILE_VALUE, &limit)
        guard limit.rlim_cur >= wanted else { throw TestFailure("need \(wanted) file descriptors, limit is \(limit.rlim_cur)") }
    }
}

let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
