import ArticleModel
import ArticleStore
import ArticleSyncReader
import Foundation
import XCTest

final class ReaderHTTPTests: XCTestCase {
    func testEveryArticleFieldIsEscapedSoAScriptInATitleOrCategoryIsOnlyText() async throws {
        let directory = try ScratchDirectory()
        let store = try await ReaderFixture.replica(at: directory.file("r.sqlite"))
        let reader = try await RunningReader(store: store)
        let host = "127.0.0.1:\(reader.port)"
        var pages: [String: RawHTTP] = [:]
        for target in ["/", "/artikel/b400000000000004", "/suche?q=strasse", "/suche?q=script", "/?kategorie=%22%3E%3Cscript%3Ealert(%27category%27)%3C%2Fscript%3E"] {
            pages[target] = try RawHTTP.get(port: reader.port, target, host: host)
        }
        await reader.stop()
        try store.close()

        for (target, page) in pages {
            XCTAssertEqual(page.status, 200, target)
            XCTAssertFalse(page.body.contains("<script>alert"), "\(target) let a script through:\n\(page.body)")
            XCTAssertFalse(page.body.contains("<img src=x"), target)
            XCTAssertTrue(page.headers["content-security-policy"]?.first?.contains("script-src 'self'") ?? false, target)
            XCTAssertEqual(page.headers["x-content-type-options"], ["nosniff"], target)
        }
        let article = try XCTUnwrap(pages["/artikel/b400000000000004"]).body
        XCTAssertTrue(article.contains("<h1>&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;</h1>"), article)
        XCTAssertTrue(article.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; &#39;single&#39;"), article)
        XCTAssertTrue(article.contains("<html lang=\"de\">"))
        let category = try XCTUnwrap(pages["/?kategorie=%22%3E%3Cscript%3Ealert(%27category%27)%3C%2Fscript%3E"]).body
        XCTAssertTrue(category.contains("<h2>&quot;&gt;&lt;script&gt;alert(&#39;category&#39;)&lt;/script&gt;</h2>"), "the category is found and shown as text")
        XCTAssertTrue(
            category.contains("<option value=\"&quot;&gt;&lt;script&gt;alert(&#39;category&#39;)&lt;/script&gt;\" selected>"),
            "an attribute value cannot be broken out of")
        XCTAssertTrue(category.contains("href=\"/?kategorie=%22%3E%3Cscript%3Ealert%28%27category%27%29%3C%2Fscript%3E\""), "nor a link")
    }

    func testARequestNamingAnotherHostIsRefusedAgainstDNSRebinding() async throws {
        let directory = try ScratchDirectory()
        let store = try await ReaderFixture.replica(at: directory.file("r.sqlite"))
        let reader = try await RunningReader(store: store)
        let port = reader.port
        var statuses: [String: Int] = [:]
        for host in ["127.0.0.1:\(port)", "localhost:\(port)", "LOCALHOST:\(port)", "attacker.example:\(port)", "attacker.example",
                     "127.0.0.1", "127.0.0.1:\(port + 1)", "127.0.0.1.attacker.example:\(port)", "[::1]:\(port)"] {
            statuses[host] = try RawHTTP.get(port: port, "/", host: host).status
        }
        let noHost = try RawHTTP.get(port: port, "/", host: nil).status
        let twoHosts = try RawHTTP.get(port: port, "/", host: "127.0.0.1:\(port)", headers: ["Host: attacker.example"]).status
        let post = try RawHTTP.get(port: port, "/", host: "127.0.0.1:\(port)", method: "POST").status
        let absolute = try RawHTTP.get(port: port, "http://attacker.example/", host: "127.0.0.1:\(port)").status
        await reader.stop()
        try store.close()

        XCTAssertEqual(statuses["127.0.0.1:\(port)"], 200)
        XCTAssertEqual(statuses["localhost:\(port)"], 200)
        XCTAssertEqual(statuses["LOCALHOST:\(port)"], 200, "host names are case-insensitive")
        for refused in ["attacker.example:\(port)", "attacker.example", "127.0.0.1", "127.0.0.1:\(port + 1)", "127.0.0.1.attacker.example:\(port)", "[::1]:\(port)"] {
            XCTAssertEqual(statuses[refused], 421, refused)
        }
        XCTAssertEqual(noHost, 421, "no Host header")
        XCTAssertEqual(twoHosts, 421, "two Host headers")
        XCTAssertEqual(post, 405)
        XCTAssertEqual(absolute, 400, "an absolute-form target")
    }

    func testAReloadShowsArticlesThatAPullAddedMeanwhileMarkedNew() async throws {
        let directory = try ScratchDirectory()
        let path = directory.file("r.sqlite")
        let store = try await ReaderFixture.replica(at: path)
        let reader = try await RunningReader(store: store)
        let host = "127.0.0.1:\(reader.port)"
        let first = try RawHTTP.get(port: reader.port, "/", host: host)
        XCTAssertFalse(first.body.contains("class=\"new\""), "a first visit marks nothing")
        let cookies = (first.headers["set-cookie"] ?? []).map { $0.split(separator: ";")[0] }.joined(separator: "; ")

        // Another connection to the same file, as `pull --follow` in another process would be.
        let writer = try ReplicaStore(path: path, fullTextIndex: true)
        try await writer.applyBatch(
            [ReaderFixture.put("c600000000000006", 6, ReaderFixture.article(title: "Eilmeldung Groesse", body: "Neu hier.", day: 9, category: "Lokales"))],
            upstreamStoreID: ReaderFixture.upstream, cursor: 6)
        try writer.close()

        let reload = try RawHTTP.get(port: reader.port, "/", host: host, headers: ["Cookie: \(cookies)"])
        let search = try RawHTTP.get(port: reader.port, "/suche?q=Gr%C3%B6%C3%9Fe", host: host, headers: ["Cookie: \(cookies)"])
        let categories = try RawHTTP.get(port: reader.port, "/", host: host).body
        await reader.stop()
        try store.close()

        XCTAssertTrue(reload.body.contains("Eilmeldung Groesse</a><span class=\"new\">neu</span>"), reload.body)
        XCTAssertEqual(reload.body.components(separatedBy: "class=\"new\"").count - 1, 1, "only the new article is marked")
        XCTAssertTrue(search.body.contains("Eilmeldung <mark>Groesse</mark>"), "the index the pull fed finds it: \(search.body)")
        XCTAssertTrue(categories.contains(">Lokales</a><span class=\"count\">3</span>"), "the category counts follow the pull")
    }

    func testSearchHighlightsMatchesFiltersByCategoryIgnoringCaseAndPagesThroughTheList() async throws {
        let directory = try ScratchDirectory()
        let store = try await ReaderFixture.replica(at: directory.file("r.sqlite"))
        let app = ReaderApp(store: store, pageSize: 2)
        let check = HostCheck(port: 8000)
        func get(_ target: String) async -> ReaderResponse {
            await app.respond(to: ReaderRequest(method: "GET", target: target, hosts: ["127.0.0.1:8000"]), hostCheck: check)
        }
        let search = await get("/suche?q=strasse&kategorie=lokales")
        XCTAssertFalse(search.bodyText.contains("Verkehr am Montag"), "a word is not part of a compound (Hauptstraße)")
        XCTAssertTrue(search.bodyText.contains("Sonne über der <mark>Straße</mark> des 17. Juni."), search.bodyText)
        XCTAssertFalse(search.bodyText.contains("Istanbul"), "only Lokales")
        let phrase = await get("/suche?q=%22Stra%C3%9Fe+nach%22+OR+Pokal")
        XCTAssertTrue(phrase.bodyText.contains("Die <mark>Straße nach</mark> Istanbul"), phrase.bodyText)
        XCTAssertTrue(phrase.bodyText.contains("Fußball: <mark>Pokal</mark>"), phrase.bodyText)
        let first = await get("/")
        XCTAssertTrue(first.bodyText.contains("Wetter in Berlin"))
        let next = try XCTUnwrap(first.bodyText.range(of: "rel=\"next\" href=\"").map { first.bodyText[$0.upperBound...].prefix { $0 != "\"" } })
        let second = await get(String(next).replacingOccurrences(of: "&amp;", with: "&"))
        XCTAssertTrue(second.bodyText.contains("Fußball: Pokal"), second.bodyText)
        XCTAssertFalse(second.bodyText.contains("Wetter in Berlin"))
        let article = await get("/artikel/a2?kategorie=LOKALES")
        XCTAssertTrue(article.bodyText.contains("rel=\"prev\" href=\"/artikel/b500000000000005?kategorie=Lokales\""), "a prefix opens the article; neighbours within the category")
        XCTAssertTrue(article.bodyText.contains("<p class=\"lead\">Auf der Hauptstraße"))
        let ambiguous = await get("/artikel/a")
        XCTAssertEqual(ambiguous.status, 404)
        XCTAssertTrue(ambiguous.bodyText.contains("passt zu mehreren Artikeln"))
        let asset = await get("/static/app.js")
        XCTAssertEqual(asset.header("Content-Type"), "text/javascript; charset=utf-8")
        try store.close()
    }
}
