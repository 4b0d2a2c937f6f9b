import ArticleModel
import ArticleStore
import ArticleSyncReader
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary directory removed at deinit.
final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

enum ReaderFixture {
    static let upstream = StoreID(bytes: [UInt8](repeating: 0xCD, count: 16))!

    static func article(title: String, body: String, day: Int, hour: Int = 9, category: String) -> Article {
        let dd = day < 10 ? "0\(day)" : "\(day)"
        let hh = hour < 10 ? "0\(hour)" : "\(hour)"
        let source = "Veröffentlichungsdatum: \(dd).04.2025 \(hh):00 / \(category)\n\n\(title)\n\n\(title)\n\n\(body)"
        return try! SeedFormat.parse(Array(source.utf8))
    }

    static func put(_ id: String, _ revision: UInt64, _ article: Article) -> ReplicaChange {
        .put(id: id, revision: revision, article: article, contentHash: StoreDigest.contentHash(of: article.source))
    }

    /// A small archive: German spellings to search for, a hostile article, three categories.
    static let articles: [(String, Article)] = [
        ("a100000000000001", article(title: "Die Straße nach Istanbul", body: "Die Strasse bleibt gesperrt.\n\nDer zweite Absatz erzählt von der Größe der Stadt.", day: 1, category: "Welt Nachrichten")),
        ("a200000000000002", article(title: "Verkehr am Montag", body: "Auf der Hauptstraße staut es sich, sagt die Polizei.", day: 2, category: "Lokales")),
        ("a300000000000003", article(title: "Fußball: Pokal", body: "Das Spiel endet unentschieden.", day: 3, category: "Sport")),
        ("b400000000000004", article(title: "<script>alert(\"title\")</script>", body: "<img src=x onerror=alert(1)> & \"quotes\" 'single' strasse", day: 4, category: "\"><script>alert('category')</script>")),
        ("b500000000000005", article(title: "Wetter in Berlin", body: "Sonne über der Straße des 17. Juni.", day: 5, category: "Lokales")),
    ]

    static func replica(at path: String, _ articles: [(String, Article)] = articles) async throws -> ReplicaStore {
        let store = try ReplicaStore(path: path, fullTextIndex: true)
        let changes = articles.enumerated().map { put($0.element.0, UInt64($0.offset + 1), $0.element.1) }
        try await store.applyBatch(changes, upstreamStoreID: upstream, cursor: UInt64(articles.count))
        return store
    }
}

/// A ReaderServer on an ephemeral port in a task of its own; `stop()` cancels it.
final class RunningReader: @unchecked Sendable {
    let task: Task<Void, any Error>
    let port: Int

    init(store: ReplicaStore) async throws {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let server = ReaderServer(store: store)
        task = Task { try await server.run { continuation.yield($0) } }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ReaderError("the reader did not start") }
        self.port = port
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// One HTTP/1.1 request over a plain socket, so a test controls every header (Host included).
struct RawHTTP {
    var status: Int
    var headers: [String: [String]]
    var body: String

    static func get(port: Int, _ target: String, host: String?, headers extra: [String] = [], method: String = "GET") throws -> RawHTTP {
        var request = "\(method) \(target) HTTP/1.1\r\n"
        if let host { request += "Host: \(host)\r\n" }
        for header in extra { request += header + "\r\n" }
        request += "Connection: close\r\n\r\n"
        let response = try exchange(port: port, Array(request.utf8))
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw ReaderError("no header end in: \(text)") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw ReaderError("bad status line: \(lines[0])") }
        var headers: [String: [String]] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased(), default: []].append(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return RawHTTP(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    /// Writes `bytes`, reads until the server closes (bounded by a 10 s receive timeout).
    static func exchange(port: Int, _ bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ReaderError("socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ReaderError("connect: \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ReaderError("send: \(errno)") }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw ReaderError("recv: errno \(errno) after \(received.count) bytes") }
            received += buffer[0..<n]
        }
        return received
    }
}
