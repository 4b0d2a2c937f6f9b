import ArticleStore
import ArticleSyncTestSupport
import Foundation
import XCTest

/// The web app end to end: the real `articlesync read` and a real browser (headless Chromium),
/// walked the way a reader goes: the list, a search for "strasse", an article, the next one.
/// Each step is rendered by Chromium (scripts run), its DOM checked and a screenshot taken.
///
/// Chromium comes from Debian's `chromium` package, which scripts/test installs. Without the
/// binary the test is skipped, saying so; with it, any failure fails. ARTICLESYNC_SCREENSHOTS=DIR
/// keeps the screenshots (docs/reader.png is one).
final class ReaderBrowserTests: XCTestCase {
    func testAReaderOpensTheListSearchesForStrasseOpensAnArticleAndGoesToTheNextOne() async throws {
        let chromium = try Self.chromium()
        let directory = try ScratchDirectory()
        let path = directory.file("replica.sqlite")
        try await ReaderFixture.replica(at: path).close()
        let reader = try ChildProcess(Binaries.client, ["read", "--port", "0", "--replica", path])
        defer { reader.terminate() }
        let base = try await reader.waitForLine(timeout: .seconds(60)) { $0.hasPrefix("http://127.0.0.1:") }
        let shots = ProcessInfo.processInfo.environment["ARTICLESYNC_SCREENSHOTS"].map { URL(fileURLWithPath: $0) } ?? directory.url
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let browser = Browser(executable: chromium, profile: directory.url.appendingPathComponent("profile"))

        // 1. The list, newest first, with the categories.
        let list = try browser.render(base, screenshot: shots.appendingPathComponent("1-list.png"))
        XCTAssertLessThan(try XCTUnwrap(list.range(of: "Wetter in Berlin")).lowerBound, try XCTUnwrap(list.range(of: "Die Straße nach Istanbul")).lowerBound, "newest first")
        XCTAssertTrue(list.contains("<span class=\"count\">2</span>"), "categories with counts")
        XCTAssertTrue(list.contains("<form action=\"/suche\" method=\"get\" role=\"search\"><input type=\"search\" name=\"q\""), "the search form")

        // 2. The search a reader types into that form: "strasse" finds every spelling of Straße.
        let search = try browser.render(base + "suche?q=strasse", screenshot: shots.appendingPathComponent("2-search.png"))
        XCTAssertTrue(search.contains("<mark>Straße</mark>"), search)
        XCTAssertTrue(search.contains("<mark>strasse</mark>"), search)
        XCTAssertTrue(search.contains("&lt;script&gt;alert(\"title\")&lt;/script&gt;"), "the hostile title is shown as text")
        XCTAssertFalse(search.contains("<script>alert"), "and never as a script")

        // 3. A hit: the newest article with the word, so that an older one follows it.
        let hit = "/artikel/b500000000000005"
        XCTAssertTrue(search.contains("<a class=\"title\" href=\"\(hit)\">Wetter in Berlin</a>"), search)
        let article = try browser.render(base + hit.dropFirst(), screenshot: shots.appendingPathComponent("3-article.png"))
        let title = try XCTUnwrap(Self.between(article, "<h1>", "</h1>"))
        XCTAssertTrue(article.contains("<html lang=\"de\">"))

        // 4. Its next (older) article.
        let next = try XCTUnwrap(Self.href(in: article, after: "<a rel=\"next\" href=\""), "no next link in:\n\(article)")
        let nextArticle = try browser.render(base + next.dropFirst(), screenshot: shots.appendingPathComponent("4-next.png"))
        let nextTitle = try XCTUnwrap(Self.between(nextArticle, "<h1>", "</h1>"))
        XCTAssertNotEqual(title, nextTitle)
        XCTAssertTrue(nextArticle.contains("rel=\"prev\""), "and back again")

        for name in ["1-list", "2-search", "3-article", "4-next"] {
            let png = try Data(contentsOf: shots.appendingPathComponent(name + ".png"))
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(name) is a PNG")
            XCTAssertGreaterThan(png.count, 10_000, "\(name) shows a page, not a blank")
        }
        XCTAssertFalse(browser.log.contains("Content Security Policy"), "the page's own script and style pass its CSP:\n\(browser.log)")
    }

    static func chromium() throws -> URL {
        for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate)
        }
        throw XCTSkip("no Chromium binary (/usr/bin/chromium): the browser test needs Debian's chromium package, which scripts/test installs (apt-get install --no-install-recommends chromium)")
    }

    static func href(in html: String, after marker: String) -> String? {
        guard let start = html.range(of: marker) else { return nil }
        let value = html[start.upperBound...].prefix { $0 != "\"" }
        return String(value).replacingOccurrences(of: "&amp;", with: "&")
    }

    static func between(_ html: String, _ open: String, _ close: String) -> String? {
        guard let start = html.range(of: open), let end = html.range(of: close, range: start.upperBound..<html.endIndex) else { return nil }
        return String(html[start.upperBound..<end.lowerBound])
    }
}

/// Headless Chromium, one process per page: it loads the page, runs its scripts, then prints the
/// DOM or writes a screenshot and exits. Each run is bounded (`timeout`), so a hung browser fails
/// the test instead of holding it.
struct Browser {
    let executable: URL
    let profile: URL
    var timeout: Duration = .seconds(60)
    private let logBox = LogBox()

    var log: String { logBox.text }

    init(executable: URL, profile: URL) {
        self.executable = executable
        self.profile = profile
    }

    /// The rendered DOM of `url`; also writes its screenshot (1200×900) to `screenshot`.
    func render(_ url: String, screenshot: URL) throws -> String {
        _ = try run(["--screenshot=\(screenshot.path)", "--window-size=1200,900", "--hide-scrollbars", url])
        return try run(["--dump-dom", url])
    }

    private func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-sync",
            "--user-data-dir=\(profile.path)", "--lang=de-DE",
        ] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        // Read both pipes while it runs, so a full pipe never blocks the browser.
        let output = PipeReader(stdout.fileHandleForReading)
        let errors = PipeReader(stderr.fileHandleForReading)
        let seconds = Double(timeout.components.seconds)
        if done.wait(timeout: .now() + seconds) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 5)
            throw TestFailure("chromium \(arguments) did not finish within \(timeout)")
        }
        let text = output.finish()
        logBox.append(errors.finish())
        guard process.terminationStatus == 0 else {
            throw TestFailure("chromium \(arguments) exited \(process.terminationStatus): \(log.suffix(2000))")
        }
        return text
    }
}

private final class LogBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""

    var text: String { lock.withLock { value } }
    func append(_ more: String) { lock.withLock { value += more } }
}

/// Drains a pipe on a thread of its own.
private final class PipeReader: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let finished = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread {
            let all = handle.readDataToEndOfFile()
            self.lock.withLock { self.data = all }
            self.finished.signal()
        }.start()
    }

    func finish() -> String {
        finished.wait()
        return lock.withLock { String(decoding: data, as: UTF8.self) }
    }
}
