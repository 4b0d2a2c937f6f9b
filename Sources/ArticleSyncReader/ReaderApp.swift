import ArticleModel
import ArticleStore
import Foundation
import Synchronization

/// The web app over one replica: turns a request into a page, knows nothing of sockets (so tests
/// call it directly). Every read is a fresh snapshot of the replica, so while `pull --follow`
/// writes to the same file a reload shows what has arrived.
///
///     /                      newest first; ?kategorie=, ?von=/?bis= (YYYY-MM-DD), ?nach= (next page)
///     /suche?q=…             full-text search (same filters)
///     /artikel/ID            one article (an unambiguous id prefix works too); ?kategorie= keeps
///                            next/previous within the category
///     /static/style.css, /static/app.js
public final class ReaderApp: Sendable {
    let store: ReplicaStore
    let pageSize: Int
    /// Category counts scan every article: computed once per replica cursor, not per page.
    private let categoryCache = Mutex<(cursor: UInt64, counts: [CategoryCount])?>(nil)

    public init(store: ReplicaStore, pageSize: Int = 50) {
        self.store = store
        self.pageSize = pageSize
    }

    public func respond(to request: ReaderRequest, hostCheck: HostCheck) async -> ReaderResponse {
        guard hostCheck.allows(request.hosts) else {
            return .text(421, "Misdirected Request", "This reader answers only http://127.0.0.1:\(hostCheck.port)/ (Host header refused).")
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = ReaderResponse.text(405, "Method Not Allowed", "Only GET and HEAD.")
            response.headers.append(.init(name: "Allow", value: "GET, HEAD"))
            return response
        }
        // A form sends spaces as "+", which URLComponents leaves as they are.
        let target = request.target.replacingOccurrences(of: "+", with: "%20")
        guard target.hasPrefix("/"), let components = URLComponents(string: "http://reader" + target) else {
            return .text(400, "Bad Request", "The request target must be a path.")
        }
        let query = Query(components.queryItems ?? [])
        let path = components.percentEncodedPath.removingPercentEncoding ?? components.percentEncodedPath
        do {
            switch path {
            case "/":
                return try await listPage(request, query)
            case "/suche":
                return try await searchPage(request, query)
            case "/static/style.css":
                return ReaderResponse(status: 200, reason: "OK", contentType: "text/css; charset=utf-8", body: Assets.css)
            case "/static/app.js":
                return ReaderResponse(status: 200, reason: "OK", contentType: "text/javascript; charset=utf-8", body: Assets.javascript)
            case _ where path.hasPrefix("/artikel/"):
                return try await articlePage(request, id: String(path.dropFirst("/artikel/".count)), query)
            default:
                return page(404, "Not Found", title: "Nicht gefunden", categories: nil, main: "<p class=\"empty\">Diese Seite gibt es nicht.</p>")
            }
        } catch {
            return .text(500, "Internal Server Error", "The replica could not be read: \(error)")
        }
    }

    // MARK: - Pages

    private func listPage(_ request: ReaderRequest, _ query: Query) async throws -> ReaderResponse {
        let counts = try await categoryCounts()
        var filter = ListFilter()
        var notes: [String] = []
        let category = resolve(query["kategorie"], in: counts, notes: &notes)
        filter.category = category
        (filter.from, filter.to) = dates(query, notes: &notes)
        let after = query["nach"].flatMap(Self.position)
        let articles = query["kategorie"] != nil && category == nil
            ? [] : try await store.listPage(filter, after: after, limit: pageSize)
        let marks = VisitMarks(request: request, latestRevision: try await store.latestRevision())

        var main = filtersForm(action: "/", query: query, counts: counts, text: nil)
        main += notes.map { "<p class=\"hint\">\(HTML.escaped($0))</p>" }.joined()
        main += "<h2>\(category.map { HTML.escaped($0) } ?? "Alle Artikel")</h2>"
        main += articleList(articles.map { ($0, nil) }, marks: marks, category: category)
        if articles.count == pageSize, let last = articles.last {
            let next = HTML.link("/", [
                ("kategorie", category), ("von", query["von"]), ("bis", query["bis"]),
                ("nach", "\(Self.sortKey(last.published))-\(last.id)"),
            ])
            main += "<p class=\"more\"><a rel=\"next\" href=\"\(HTML.escaped(next))\">Ältere Artikel →</a></p>"
        }
        return page(200, "OK", title: category ?? "Archiv", categories: (counts, category), main: main, cookies: marks.headers)
    }

    private func searchPage(_ request: ReaderRequest, _ query: Query) async throws -> ReaderResponse {
        let counts = try await categoryCounts()
        let text = query["q"] ?? ""
        var notes: [String] = []
        var filter = ListFilter(limit: pageSize)
        let category = resolve(query["kategorie"], in: counts, notes: &notes)
        filter.category = category
        (filter.from, filter.to) = dates(query, notes: &notes)
        var main = filtersForm(action: "/suche", query: query, counts: counts, text: text)
        main += notes.map { "<p class=\"hint\">\(HTML.escaped($0))</p>" }.joined()
        var hits: [SearchHit] = []
        var ranked = true
        if query["kategorie"] != nil && category == nil {
            // The note says which category is unknown.
        } else if SearchQuery(text) == nil {
            main += SearchQuery.onlyExcludes(text)
                ? "<p class=\"hint\">Nur ausgeschlossene Wörter: mindestens ein Wort muss gesucht werden.</p>"
                : "<p class=\"hint\">Suchbegriffe eingeben: Wörter, \"Wortgruppe\", Präfix*, ODER mit OR, ausschließen mit NOT oder -Wort.</p>"
        } else {
            let result = try await store.searchResult(text, filter: filter, marks: Self.marks)
            (hits, ranked) = (result.hits, result.ranked)
        }
        let marks = VisitMarks(request: request, latestRevision: try await store.latestRevision())
        if SearchQuery(text) != nil {
            let heading = !ranked ? "\(hits.count) von sehr vielen Treffern"
                : hits.count == pageSize ? "Die besten \(pageSize) Treffer" : "\(hits.count) Treffer"
            main += "<h2>\(heading) für „\(HTML.escaped(text))“</h2>"
            if !ranked {
                main += "<p class=\"hint\">Mehr als \(ReplicaStore.rankedMatchLimit) Artikel passen: die zuletzt eingetroffenen zuerst, nicht nach Relevanz. Ein weiteres Wort grenzt ein.</p>"
            }
            main += articleList(hits.map { ($0.summary, $0.snippet) }, marks: marks, category: category)
        }
        return page(200, "OK", title: text.isEmpty ? "Suche" : "Suche: \(text)", categories: (counts, category), main: main, search: text, cookies: marks.headers)
    }

    private func articlePage(_ request: ReaderRequest, id rawID: String, _ query: Query) async throws -> ReaderResponse {
        let counts = try await categoryCounts()
        var notes: [String] = []
        let category = resolve(query["kategorie"], in: counts, notes: &notes)
        let id: String
        switch try await store.resolveID(rawID) {
        case .unique(let found): id = found
        case .ambiguous(let candidates, _):
            let list = candidates.map { "<li><a href=\"/artikel/\(HTML.escaped(HTML.urlComponent($0)))\">\(HTML.escaped($0))</a></li>" }.joined()
            return page(404, "Not Found", title: "Mehrdeutig", categories: (counts, nil),
                        main: "<p class=\"empty\">„\(HTML.escaped(rawID))“ passt zu mehreren Artikeln:</p><ul>\(list)</ul>")
        case .none:
            return page(404, "Not Found", title: "Nicht gefunden", categories: (counts, nil),
                        main: "<p class=\"empty\">Kein Artikel „\(HTML.escaped(rawID))“ im Archiv (vielleicht inzwischen gelöscht).</p>")
        }
        guard let stored = try await store.article(id: id) else {
            return page(404, "Not Found", title: "Nicht gefunden", categories: (counts, nil), main: "<p class=\"empty\">Dieser Artikel wurde eben gelöscht.</p>")
        }
        let article = stored.article
        let (newer, older) = try await store.neighbours(of: id, in: ListFilter(category: category))
        var main = "<article>"
        main += "<p class=\"meta\">\(HTML.escaped(article.published.description)) · "
        main += "<a href=\"\(HTML.escaped(HTML.link("/", [("kategorie", article.category)])))\">\(HTML.escaped(article.category))</a></p>"
        main += "<h1>\(HTML.escaped(article.title))</h1>"
        for (index, paragraph) in article.paragraphs.enumerated() {
            main += index == 0 ? "<p class=\"lead\">" : "<p>"
            main += HTML.escaped(paragraph).replacingOccurrences(of: "\n", with: "<br>") + "</p>"
        }
        main += "</article><nav class=\"pager\" aria-label=\"Weitere Artikel\">"
        func link(_ summary: ArticleSummary?, rel: String, label: String) -> String {
            guard let summary else { return "<span></span>" }
            let href = HTML.link("/artikel/" + HTML.urlComponent(summary.id), [("kategorie", category)])
            return "<a rel=\"\(rel)\" href=\"\(HTML.escaped(href))\">\(label) \(HTML.escaped(summary.title))</a>"
        }
        main += link(newer, rel: "prev", label: "← Neuer:")
        main += link(older, rel: "next", label: "Älter:")
        main += "</nav><p class=\"hint\"><kbd>j</kbd>/<kbd>→</kbd> älter · <kbd>k</kbd>/<kbd>←</kbd> neuer · <kbd>/</kbd> suchen</p>"
        return page(200, "OK", title: article.title, categories: (counts, category), main: main)
    }

    // MARK: - Parts

    /// Snippet marks no article text can hold (private-use characters), so that after escaping
    /// they become <mark> and nothing else does.
    static let marks = SnippetMarks(open: "\u{E000}", close: "\u{E001}")

    /// A snippet as HTML: escaped, its line breaks as spaces and its marks as `<mark>`, in one pass
    /// (Foundation's `replacingOccurrences`, three times a hit, was a fifth of a search page's CPU).
    static func markedSnippet(_ snippet: String) -> String {
        let open = marks.open.unicodeScalars.first
        let close = marks.close.unicodeScalars.first
        var html = ""
        html.reserveCapacity(snippet.utf8.count + 64)
        var text = String.UnicodeScalarView()
        func flush() {
            guard !text.isEmpty else { return }
            html += HTML.escaped(String(text))
            text = String.UnicodeScalarView()
        }
        for scalar in snippet.unicodeScalars {
            switch scalar {
            case open: flush(); html += "<mark>"
            case close: flush(); html += "</mark>"
            case "\n": text.append(" ")
            default: text.append(scalar)
            }
        }
        flush()
        return html
    }

    private func articleList(_ items: [(ArticleSummary, String?)], marks: VisitMarks, category: String?) -> String {
        guard !items.isEmpty else { return "<p class=\"empty\">Keine Artikel.</p>" }
        var html = "<ol class=\"articles\">"
        for (summary, snippet) in items {
            let href = HTML.link("/artikel/" + HTML.urlComponent(summary.id), [("kategorie", category)])
            html += "<li\(marks.isNew(summary.revision) ? " class=\"is-new\"" : "")>"
            html += "<a class=\"title\" href=\"\(HTML.escaped(href))\">\(HTML.escaped(summary.title))</a>"
            if marks.isNew(summary.revision) { html += "<span class=\"new\">neu</span>" }
            html += "<div class=\"meta\">\(HTML.escaped(summary.published.description)) · \(HTML.escaped(summary.category))</div>"
            if let snippet {
                html += "<p class=\"snippet\">\(Self.markedSnippet(snippet))</p>"
            }
            html += "</li>"
        }
        return html + "</ol>"
    }

    private func filtersForm(action: String, query: Query, counts: [CategoryCount], text: String?) -> String {
        var html = "<form class=\"filters\" action=\"\(action)\" method=\"get\">"
        if let text { html += "<input type=\"hidden\" name=\"q\" value=\"\(HTML.escaped(text))\">" }
        html += "<label>Kategorie<select name=\"kategorie\"><option value=\"\">alle</option>"
        let selected = query["kategorie"]?.lowercased()
        for category in counts {
            let isSelected = category.name.lowercased() == selected ? " selected" : ""
            html += "<option value=\"\(HTML.escaped(category.name))\"\(isSelected)>\(HTML.escaped(category.name))</option>"
        }
        html += "</select></label>"
        html += "<label>von<input type=\"date\" name=\"von\" value=\"\(HTML.escaped(query["von"] ?? ""))\"></label>"
        html += "<label>bis<input type=\"date\" name=\"bis\" value=\"\(HTML.escaped(query["bis"] ?? ""))\"></label>"
        return html + "<button type=\"submit\">Filtern</button></form>"
    }

    private func page(
        _ status: Int, _ reason: String, title: String, categories: ([CategoryCount], String?)?, main: String, search: String = "",
        cookies: [ReaderResponse.Header] = []
    ) -> ReaderResponse {
        var html = """
            <!doctype html><html lang="de"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(HTML.escaped(title)) · articlesync</title>\
            <link rel="stylesheet" href="/static/style.css"><script src="/static/app.js" defer></script></head><body>\
            <header><a class="home" href="/">articlesync · Archiv</a>\
            <form action="/suche" method="get" role="search"><input type="search" name="q" value="\(HTML.escaped(search))" \
            placeholder="Suchen … (/)" aria-label="Suchen"></form></header><div class="layout">
            """
        html += "<nav class=\"categories\" aria-label=\"Kategorien\"><h2>Kategorien</h2><ul>"
        if let categories {
            let (counts, current) = categories
            for category in counts {
                let currentMark = category.name == current ? " aria-current=\"page\"" : ""
                let href = HTML.link("/", [("kategorie", category.name)])
                html += "<li><a href=\"\(HTML.escaped(href))\"\(currentMark)>\(HTML.escaped(category.name))</a>"
                html += "<span class=\"count\">\(category.count)</span></li>"
            }
        }
        html += "</ul></nav><main>\(main)</main></div></body></html>\n"
        return ReaderResponse(status: status, reason: reason, contentType: "text/html; charset=utf-8", body: html, extraHeaders: cookies)
    }

    // MARK: - Helpers

    /// Counts the categories ahead of the first page, which would otherwise wait for the scan
    /// (about a second at a million articles). A failure is left for that page to report.
    func warmUp() async {
        _ = try? await categoryCounts()
    }

    /// What `warmUp` or a page counted, and at which cursor.
    var cachedCategoryCounts: (cursor: UInt64, counts: [CategoryCount])? { categoryCache.withLock { $0 } }

    private func categoryCounts() async throws -> [CategoryCount] {
        let cursor = try await store.snapshot().cursor
        if let cached = categoryCache.withLock({ $0 }), cached.cursor == cursor { return cached.counts }
        let counts = try await store.categories()
        categoryCache.withLock { $0 = (cursor, counts) }
        return counts
    }

    /// The category a ?kategorie= names, ignoring case; nil (with a note) when none does.
    private func resolve(_ text: String?, in counts: [CategoryCount], notes: inout [String]) -> String? {
        guard let text, !text.isEmpty else { return nil }
        if let exact = counts.first(where: { $0.name == text }) { return exact.name }
        if let folded = counts.first(where: { $0.name.lowercased() == text.lowercased() }) { return folded.name }
        notes.append("Keine Kategorie „\(text)“.")
        return nil
    }

    private func dates(_ query: Query, notes: inout [String]) -> (PublicationTime?, PublicationTime?) {
        func day(_ key: String, end: Bool) -> PublicationTime? {
            guard let text = query[key], !text.isEmpty else { return nil }
            let parts = text.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, (1...9999).contains(parts[0]), (1...12).contains(parts[1]), (1...31).contains(parts[2]) else {
                notes.append("„\(text)“ ist kein Datum (JJJJ-MM-TT); ignoriert.")
                return nil
            }
            return PublicationTime(year: parts[0], month: parts[1], day: parts[2], hour: end ? 23 : 0, minute: end ? 59 : 0)
        }
        return (day("von", end: false), day("bis", end: true))
    }

    static func sortKey(_ time: PublicationTime) -> String {
        String(time.year).leftPadded(to: 4) + [time.month, time.day, time.hour, time.minute].map { String($0).leftPadded(to: 2) }.joined()
    }

    /// "YYYYMMDDHHMM-id" of ?nach=.
    static func position(_ text: String) -> ListPosition? {
        let parts = text.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 12, let key = Int64(parts[0]) else { return nil }
        let time = PublicationTime(
            year: Int(key / 100_000_000), month: Int(key / 1_000_000 % 100), day: Int(key / 10_000 % 100),
            hour: Int(key / 100 % 100), minute: Int(key % 100))
        return ListPosition(published: time, id: String(parts[1]))
    }
}

/// Query parameters by name (the first of each).
struct Query {
    private var values: [String: String] = [:]

    init(_ items: [URLQueryItem]) {
        for item in items where values[item.name] == nil {
            values[item.name] = item.value ?? ""
        }
    }

    subscript(_ name: String) -> String? { values[name] }
}
