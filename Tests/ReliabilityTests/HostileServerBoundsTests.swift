import ArticleModel
import ArticleStore
import Foundation
import GRDB
import Synchronization
import Testing

/// A count shared with a hostile server's threads.
final class Counter: Sendable {
    let value = Mutex(0)
}

/// Issue 12, 1, 3 and 8 against the real `articlesync`: what a hostile server can make the client
/// hold (a batch that decodes to gigabytes), delete (a tombstone per article) or keep (a forged
/// dictionary, thousands of dictionaries). Every case checks the exit code, the message, the
/// client's peak RSS and, after a refusal, an untouched and intact replica.
@Suite(.serialized) struct HostileServerBoundsTests {
    typealias Hostile = HostileServerTests

    /// A valid ZLIB change body: a document of exactly `documentLength` bytes (a body of `word`s
    /// repeated), compressed without a dictionary, and the content hash of its source.
    struct BigDocument: Sendable {
        var contentHash: [UInt8]
        var documentLength: UInt32
        var data: [UInt8]

        init(documentLength: Int, word: String = "Wort ") {
            let published = PublicationTime(year: 2024, month: 2, day: 1, hour: 8, minute: 15)
            // 8 fixed bytes, category and title as str16, the body's u32 length (PROTOCOL.md §7.2).
            let fixed = 8 + 2 + "Politik".utf8.count + 2 + "Groß".utf8.count + 4
            var body = String(repeating: word, count: (documentLength - fixed) / word.utf8.count)
            body += String(repeating: "a", count: documentLength - fixed - body.utf8.count)
            let source = SeedFormat.render(published: published, category: "Politik", title: "Groß", body: body)
            let article = Article(published: published, category: "Politik", title: "Groß", body: body, source: source)
            let document = ArticleDocument.encode(article)
            precondition(document.count == documentLength)
            contentHash = StoreDigest.contentHash(of: source)
            self.documentLength = UInt32(documentLength)
            data = ArticleCompression.compressDocument(document, dictionary: nil)
        }

        func change(revision: UInt64, id: String) -> [UInt8] {
            HostileWire.article(revision: revision, id: id, contentHash: contentHash, documentLength: documentLength, data: data)
        }
    }

    /// A BATCH of `count` copies of `document` after `since`, sent as one COMPRESSED frame (the
    /// copies deflate to almost nothing): what issue 12 measured as 33,977 bytes for 1,000.
    static func compressedBatch(of document: BigDocument, count: Int, after since: UInt64) -> [UInt8] {
        let changes = (1...count).map { document.change(revision: since + UInt64($0), id: "gross-\($0)") }
        let payload = HostileWire.batchPayload(from: since, to: since + UInt64(count), changes: changes)
        let zlib = ArticleCompression.compressDocument(payload, dictionary: nil)
        return HostileWire.compressedFrame(type: 0x82, inflatedLength: UInt32(payload.count), zlib: zlib)
    }

    /// The replica as the client shows it (`HostileServerTests.contents`), but for its size on disk:
    /// a pull the guard refuses is kept in the replica's file for `pull --force`.
    /// The replica's articles and state; a pull the guard refused is kept beside it (status names
    /// it as staged), which is not a change of the replica.
    static func contents(of replica: String) async throws -> String {
        try await Hostile.contents(of: replica).replacingOccurrences(of: #""(sizeBytes|stagedChanges|stagedRevision)":[0-9]+,"#, with: "", options: .regularExpression)
    }

    /// A server that answers the pull with `frames` (given the pull's sinceRevision), then CAUGHT_UP.
    static func serving(head: UInt64, _ frames: @escaping @Sendable (UInt64) -> (frames: [[UInt8]], head: UInt64)) throws -> HostileServer {
        try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: head)), let pull = connection.expect(HostileWire.pull) else { return }
            let answer = frames(pull.sinceRevision)
            for frame in answer.frames { guard connection.send(frame) else { return } }
            connection.send(HostileWire.caughtUp(answer.head))
            connection.drainUntilClosed()
        }
    }

    // MARK: a batch that decodes to gigabytes (issue 12, 3)

    @Test(arguments: [1_000, 200])
    func aBatchOfSixteenMebibyteDocumentsIsRefusedBeforeAnythingIsInflated(count: Int) async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Hostile.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let document = BigDocument(documentLength: 16_777_216, word: "a")
        let frame = Self.compressedBatch(of: document, count: count, after: 30)
        print("hostile batch: \(count) documents of 16 MiB in a frame of \(frame.count) bytes")
        let server = try Self.serving(head: 30 + UInt64(count)) { since in ([Self.compressedBatch(of: document, count: count, after: since)], since + UInt64(count)) }
        defer { server.stop() }
        let run = try await Hostile.client(["pull", "--replica", replica, "--server", server.address], timeout: .seconds(120))

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stderr)")
        // 1,000 inflate to 16.3 MB, more than any server's frame (refused before inflating it);
        // 200 to 3.3 MB, whose first change claims more than any store holds.
        let refusal = count == 1_000 ? "compressed BATCH frame inflates to" : "claims a document of 16777216 bytes, more than any store holds"
        #expect(run.stderr.contains(refusal), "\(run.stderr)")
        Hostile.expectBounded(run, "\(count) documents of 16 MiB")
        #expect(try await Self.contents(of: replica) == before)
    }

    @Test func aBatchOfStorableDocumentsThatDecodesToGigabytesIsRefusedByItsSum() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Hostile.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        // 8 MB each is a document size a store can hold; a thousand of them is 8 GB in one batch.
        let document = BigDocument(documentLength: 8_000_000, word: "a")
        let server = try Self.serving(head: 1_030) { since in ([Self.compressedBatch(of: document, count: 1_000, after: since)], since + 1_000) }
        defer { server.stop() }
        let run = try await Hostile.client(["pull", "--replica", replica, "--server", server.address], timeout: .seconds(120))

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("a batch of 1000 changes would decode to 8000000000 bytes"), "\(run.stderr)")
        Hostile.expectBounded(run, "1,000 documents of 8 MB")
        #expect(try await Self.contents(of: replica) == before)
    }

    /// Within the batch limit, a batch of large valid articles is applied, in slices: what the
    /// client holds stays bounded whether the replica is new (applied as it arrives) or holds
    /// articles (staged first), a mirror or a reading replica.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func aLargeValidBatchIsAppliedInSlicesWithinTheMemoryBound(pulledFirst: Bool, mirror: Bool) async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = pulledFirst ? try await Hostile.pulledReplica(temp) : temp.path + "/replica.sqlite"
        let document = BigDocument(documentLength: 1_500_000)
        let server = try Self.serving(head: 40) { since in
            let changes = (1...40).map { document.change(revision: since + UInt64($0), id: "gross-\($0)") }
            return ([HostileWire.batch(from: since, to: since + 40, changes: changes)], since + 40)
        }
        defer { server.stop() }
        let run = try await Hostile.client(
            ["pull", mirror ? "--mirror" : "--no-mirror", "--json", "--replica", replica, "--server", server.address], timeout: .seconds(120))

        #expect(run.status == 0 && run.exited, "exit \(run.status): \(run.stderr)")
        let batches = run.stdout.split(separator: "\n").compactMap { jsonObject(String($0)) }.filter { $0["event"] as? String == "batch" }
        #expect(batches.count == 40, "one slice per 1.5 MB document (2 MiB a slice): \(batches.count)")
        Hostile.expectBounded(run, "40 documents of 1.5 MB (\(pulledFirst ? "staged" : "direct"), \(mirror ? "mirror" : "reading"))")
        let list = try await Hostile.client(["list", "--json", "--replica", replica])
        let listed = (try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8))) as? [[String: Any]]
        #expect(listed?.count == (pulledFirst ? 70 : 40))
        let show = try await Hostile.client(["show", "--source", "--replica", replica, "gross-7"])
        #expect(StoreDigest.contentHash(of: Array(show.stdout.utf8)) == document.contentHash)
    }

    // MARK: a tombstone per article (issue 12, 1)

    @Test func aServerThatSendsATombstonePerArticleIsRefusedAndForceAppliesWhatWasDownloaded() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Hostile.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let pulls = Mutex<[UInt64]>([])
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: 61)), let pull = connection.expect(HostileWire.pull) else { return }
            let since = pull.sinceRevision
            pulls.withLock { $0.append(since) }
            if since < 61 {
                // One new article, then a tombstone for each of the 30 the replica holds.
                let fresh = BigDocument(documentLength: 2_000)
                var changes = [fresh.change(revision: 31, id: "neu")]
                changes += (0..<30).map { HostileWire.tombstone(revision: 32 + UInt64($0), id: String(format: "art%05d", $0)) }
                connection.send(HostileWire.batch(from: since, to: 61, changes: changes))
            }
            connection.send(HostileWire.caughtUp(61))
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let run = try await Hostile.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.status == 5 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("this pull would delete 30 of the replica's 30 articles (100%, more than the 10% limit): art00000, art00001"), "\(run.stderr)")
        #expect(run.stderr.contains("and 20 more; nothing was changed"), "\(run.stderr)")
        Hostile.expectBounded(run, "a tombstone per article")
        #expect(try await Self.contents(of: replica) == before, "not even the new article is applied")

        // --force applies the pull that was downloaded: it asks only for what came after it.
        let forced = try await Hostile.client(["pull", "--force", "--json", "--replica", replica, "--server", server.address])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(pulls.withLock { $0 } == [30, 61])
        let list = try await Hostile.client(["list", "--json", "--replica", replica])
        let listed = (try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8))) as? [[String: Any]]
        #expect(listed?.compactMap { $0["id"] as? String } == ["neu"])
    }

    // MARK: dictionaries (issue 12, 8 and 9)

    @Test func aBatchNamingThreeThousandDictionariesIsRefusedWithoutFetchingThem() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Hostile.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        let fetches = Mutex(0)
        let server = try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: 3_030)), let request = connection.readFrame() else { return }
            guard request.type == HostileWire.pull else {
                fetches.withLock { $0 += 1 }
                return
            }
            let since = request.sinceRevision
            // Each change's zlib header names a dictionary of its own (FDICT, a made-up DICTID).
            let changes = (1...3_000).map { index -> [UInt8] in
                let header: [UInt8] = [0x78, 0xBB] + HostileWire.u32(UInt32(index) &* 2_654_435_761)
                return HostileWire.article(
                    revision: since + UInt64(index), id: "d\(index)", contentHash: [UInt8](repeating: 1, count: 32),
                    documentLength: 100, data: header + [0x03, 0x00])
            }
            connection.send(HostileWire.batch(from: since, to: since + 3_000, changes: changes))
            connection.send(HostileWire.caughtUp(since + 3_000))
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let run = try await Hostile.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("names 3000 dictionaries this pull does not hold, more than the 16"), "\(run.stderr)")
        #expect(fetches.withLock { $0 } == 0)
        Hostile.expectBounded(run, "3,000 dictionaries")
        #expect(try await Self.contents(of: replica) == before)
    }

    /// `dictionary` with three bytes changed so that its Adler-32 stays: +1, -2, +1 keeps both sums.
    static func forged(_ dictionary: [UInt8]) -> [UInt8] {
        var forged = dictionary
        var index = dictionary.count / 2
        while !(forged[index] < 255 && forged[index + 1] >= 2 && forged[index + 2] < 255) { index += 1 }
        forged[index] += 1
        forged[index + 1] -= 2
        forged[index + 2] += 1
        precondition(forged != dictionary && ArticleCompression.id(ofDictionary: forged) == ArticleCompression.id(ofDictionary: dictionary))
        return forged
    }

    /// Text that does not repeat itself, so a document made of it refers to every part of it.
    static let dictionary = Array(
        (0..<60).map { "Satz \($0) über \(["Banken", "Haushalt", "Schulen", "Gemeinden", "Wahlen"][$0 % 5]) und \($0 * 7 % 13) Punkte. " }.joined().utf8)

    /// A ZLIB change compressed with `dictionary` whose body is `body`, and the article's source.
    static func article(_ id: String, revision: UInt64, body: [UInt8]) -> (change: [UInt8], source: [UInt8]) {
        let published = PublicationTime(year: 2024, month: 2, day: 1, hour: 8, minute: 15)
        let text = String(decoding: body, as: UTF8.self)
        let source = SeedFormat.render(published: published, category: "Politik", title: id, body: text)
        let encoded = ArticleDocument.encode(Article(published: published, category: "Politik", title: id, body: text, source: source))
        let change = HostileWire.article(
            revision: revision, id: id, contentHash: StoreDigest.contentHash(of: source), documentLength: UInt32(encoded.count),
            data: ArticleCompression.compressDocument(encoded, dictionary: dictionary))
        return (change, source)
    }

    /// Serves `changes` (one batch after the pull's cursor, `perPull` at each cursor) and answers
    /// GET_DICTIONARY with what `dictionaryBytes` says, counting the fetches.
    static func dictionaryServer(
        head: UInt64, changes: @escaping @Sendable (UInt64) -> [[UInt8]], dictionaryBytes: @escaping @Sendable () -> [UInt8], fetches: Counter
    ) throws -> HostileServer {
        let id = ArticleCompression.id(ofDictionary: dictionary)
        return try HostileServer { connection in
            guard connection.handshake(HostileWire.welcome(head: head)) else { return }
            while let request = connection.readFrame() {
                switch request.type {
                case HostileWire.pull:
                    let since = request.sinceRevision
                    let batch = changes(since)
                    if !batch.isEmpty { connection.send(HostileWire.batch(from: since, to: since + UInt64(batch.count), changes: batch)) }
                    connection.send(HostileWire.caughtUp(since + UInt64(batch.count)))
                case HostileWire.getDictionary:
                    fetches.value.withLock { $0 += 1 }
                    connection.send(HostileWire.dictionary(id: id, bytes: dictionaryBytes()))
                default:
                    return
                }
            }
        }
    }

    @Test func aForgedDictionaryIsNeverKeptAndTheGenuineOneIsFetchedOnceTheServerIsHonest() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Hostile.pulledReplica(temp)
        let before = try await Self.contents(of: replica)
        // The article is the dictionary's text: it needs every byte of it, the forged three too.
        let whole = Self.article("ganz", revision: 31, body: Self.dictionary)
        let honest = Mutex(false)
        let fetches = Counter()
        let server = try Self.dictionaryServer(
            head: 31, changes: { $0 == 30 ? [whole.change] : [] },
            dictionaryBytes: { honest.withLock { $0 } ? Self.dictionary : Self.forged(Self.dictionary) }, fetches: fetches)
        defer { server.stop() }
        let run = try await Hostile.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.status == 65 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.contains("does not match its content hash") || run.stderr.contains("article ganz at revision 31"), "\(run.stderr)")
        #expect(fetches.value.withLock { $0 } == 2, "dropped after the mismatch and fetched once more")
        Hostile.expectBounded(run, "a forged dictionary")
        #expect(try await Self.contents(of: replica) == before)
        #expect(try Self.dictionaries(in: replica).isEmpty, "the forgery was not kept")

        honest.withLock { $0 = true }
        let again = try await Hostile.client(["pull", "--replica", replica, "--server", server.address])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Self.dictionaries(in: replica) == [Self.dictionary])
        let show = try await Hostile.client(["show", "--source", "--replica", replica, "ganz"])
        #expect(Array(show.stdout.utf8) == whole.source)
    }

    @Test func aForgedDictionaryThatDecodedItsOwnArticlesIsReplacedWhenAnArticleNeedsTheBytesItChanged() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        // A mirror: its documents stay compressed and name the dictionary.
        try Corpus.write(count: 30, to: temp.path + "/corpus")
        let real = try await ReliabilityServer(storePath: temp.path + "/server.sqlite", importDirectory: temp.path + "/corpus")
        let replica = temp.path + "/replica.sqlite"
        let pulled = try await Hostile.client(["pull", "--mirror", "--replica", replica, "--server", "\(real.address)"])
        await real.stop()
        #expect(pulled.status == 0, "\(pulled.stderr)")
        // First a man in the middle: the forgery, with an article that needs none of its changed
        // bytes (it decodes right, so the forgery is kept, as any dictionary an article proves).
        let tail = Self.article("ende", revision: 31, body: Array(Self.dictionary.suffix(200)))
        let whole = Self.article("ganz", revision: 32, body: Self.dictionary)
        let fetches = Counter()
        let honest = Mutex(false)
        let server = try Self.dictionaryServer(
            head: 32, changes: { since in since == 30 ? [tail.change] : since == 31 ? [whole.change] : [] },
            dictionaryBytes: { honest.withLock { $0 } ? Self.dictionary : Self.forged(Self.dictionary) }, fetches: fetches)
        defer { server.stop() }
        let first = try await Hostile.client(["pull", "--replica", replica, "--server", server.address])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try Self.dictionaries(in: replica) == [Self.forged(Self.dictionary)])

        // Then the genuine server: an article needs the changed bytes, the kept ones fail, the
        // server's bytes (fetched again) succeed and replace them; nothing becomes unreadable.
        honest.withLock { $0 = true }
        let second = try await Hostile.client(["pull", "--replica", replica, "--server", server.address])
        #expect(second.status == 0, "exit \(second.status): \(second.stderr)")
        #expect(try Self.dictionaries(in: replica) == [Self.dictionary])
        for (id, source) in [("ende", tail.source), ("ganz", whole.source)] {
            let show = try await Hostile.client(["show", "--source", "--replica", replica, id])
            #expect(Array(show.stdout.utf8) == source, "\(id)")
        }
        Hostile.expectBounded(second, "a kept forgery replaced")
    }

    @Test func aForgedDictionaryKeptByAnOlderClientIsReplacedByTheGenuineOne() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let replica = try await Hostile.pulledReplica(temp)
        let id = ArticleCompression.id(ofDictionary: Self.dictionary)
        // What issue 12 found: a forgery served once, kept for good by the client of then.
        let queue = try DatabaseQueue(path: replica)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO dictionary (id, bytes) VALUES (?, ?)", arguments: [Int64(id), Data(Self.forged(Self.dictionary))])
        }
        try queue.close()
        let whole = Self.article("ganz", revision: 31, body: Self.dictionary)
        let fetches = Counter()
        let server = try Self.dictionaryServer(
            head: 31, changes: { $0 == 30 ? [whole.change] : [] }, dictionaryBytes: { Self.dictionary }, fetches: fetches)
        defer { server.stop() }
        let run = try await Hostile.client(["pull", "--replica", replica, "--server", server.address])

        #expect(run.status == 0 && run.exited, "exit \(run.status): \(run.stderr)")
        #expect(fetches.value.withLock { $0 } == 1)
        #expect(try Self.dictionaries(in: replica) == [Self.dictionary])
        Hostile.expectBounded(run, "a forged dictionary kept before")
    }

    static func dictionaries(in replica: String) throws -> [[UInt8]] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: replica, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in try Data.fetchAll(db, sql: "SELECT bytes FROM dictionary ORDER BY id").map { [UInt8]($0) } }
    }
}
