import ArticleModel
import Crypto
import Foundation
import GRDB

/// One stored article read back from its bytes and checked against its content hash.
public struct ScannedArticle: Sendable {
    public var id: String
    public var revision: UInt64
    /// The content hash recorded with the article (what the server sent).
    public var contentHash: [UInt8]
    /// The exact source as the replica holds it now; nil when it cannot be read at all.
    public var source: [UInt8]?
    /// Why the article is not the one its hash names (changed bytes, an unreadable document, a
    /// listing that disagrees with the text); nil when it is.
    public var problem: String?
    /// For a kept article (`--keep-deleted`): when a pull deleted it.
    public var deletedAt: Int64?
    /// SHA-256 of `source`, when there is one.
    public var actualHash: [UInt8]?
}

/// What `verify --deep` learns from the rows themselves, without trusting any counter.
public struct ReplicaAudit: Sendable {
    /// Live rows.
    public var articleCount: UInt64
    /// The store digest (§7.6) of the live rows as they are: each article's hash recomputed from its
    /// bytes. An article whose bytes cannot be read is left out (and named in `problems`).
    public var digest: SHA256Hash
    /// Every article that is not what its content hash says, by id (byte order).
    public var problems: [(id: String, reason: String)]
    /// The replica's recorded state (cursor, count, digest), read in the same transaction.
    public var recorded: ReplicaSnapshot
}

extension ReplicaStore {
    /// Reads every live article back from its bytes (inflating a mirror's documents), checks each
    /// against its content hash and recomputes the count and the digest from the rows, all in one
    /// read transaction, on every core. `progress(done, total)` follows the articles.
    public func audit(progress: @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }) async throws -> ReplicaAudit {
        try await file.pool.read { db in
            let recorded = try MetaState.load(db).replicaSnapshot
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM article WHERE deleted = 0") ?? 0
            var count: UInt64 = 0
            var digest = StoreDigest.zero
            var problems: [(id: String, reason: String)] = []
            var done = 0
            progress(0, total)
            try self.file.scan(db, kept: false, materialize: false) { chunk in
                for article in chunk {
                    count += 1
                    if let hash = article.actualHash { digest.add(StoreDigest.element(id: article.id, contentHash: hash)) }
                    if let problem = article.problem { problems.append((article.id, problem)) }
                }
                done += chunk.count
                progress(done, total)
            }
            problems.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
            return ReplicaAudit(articleCount: count, digest: digest.value, problems: problems, recorded: recorded)
        }
    }

    /// Calls `body` with every live article, read back and checked, in chunks of a few hundred (at
    /// most about 16 MiB of text each), in one read transaction.
    public func scanArticles(_ body: ([ScannedArticle]) throws -> Void) async throws {
        try await file.scan(kept: false, body)
    }
}

extension StoreFile {
    func scan(kept: Bool, _ body: ([ScannedArticle]) throws -> Void) async throws {
        try await withoutActuallyEscaping(body) { body in
            // Called only on the read's thread, one chunk after another, while the caller awaits
            // the read: nothing else touches what `body` captures meanwhile.
            nonisolated(unsafe) let body = body
            try await pool.read { db in try self.scan(db, kept: kept, materialize: true, body) }
        }
    }

    /// A row as read, before it is checked (on any thread: no database access).
    private struct RawRow: Sendable {
        var id: String
        var revision: UInt64
        var contentHash: [UInt8]
        var published: Int64
        var category: [UInt8]
        var title: [UInt8]
        var body: [UInt8]?
        var source: [UInt8]?
        var document: [UInt8]?
        var documentLength: Int
        var deletedAt: Int64?
    }

    static let scanRows = 1_024
    static let scanBytes = 16 << 20

    /// Reads rows in rowid order, a chunk at a time, and checks each chunk's articles in parallel
    /// while the next chunk is read: inflating and hashing is the work (about 3 KB per article),
    /// reading the rows a third of it. `materialize`: every article's source is built (export);
    /// otherwise a canonical article is hashed from its fields' bytes as they stream, without
    /// building its source or any String (verify).
    ///
    /// `afterRevision` reads only the rows of revisions above it, in revision order (the revision
    /// index: a file tree's few changes do not read the whole table); `keys` narrows the rows to
    /// those whose key (the revision, else the rowid) is above `after` and at most `through`, a
    /// page of a file tree; `include` skips rows before they are inflated.
    func scan(
        _ db: Database, kept: Bool, materialize: Bool, afterRevision: UInt64? = nil, keys: (after: Int64, through: Int64)? = nil,
        include: ((String) -> Bool)? = nil, _ body: ([ScannedArticle]) throws -> Void
    ) throws {
        let filter = kept ? "deleted = 1 AND deleted_at IS NOT NULL" : "deleted = 0"
        let key = afterRevision == nil ? "rowid" : "revision"
        let statement = try db.makeStatement(
            sql: """
                SELECT \(key), id, revision, content_hash, published, CAST(category AS BLOB), CAST(title AS BLOB),
                    CAST(body AS BLOB), source, document, document_length, deleted_at
                FROM article WHERE \(filter) AND \(key) > ? AND \(key) <= ? ORDER BY \(key) LIMIT ?
                """)
        var after = keys?.after ?? Int64(clamping: afterRevision ?? 0)
        let through = keys?.through ?? Int64.max
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var inFlight: (done: DispatchSemaphore, results: ScanResults)? = nil
        defer { inFlight?.done.wait() }
        while true {
            var rows: [RawRow] = []
            rows.reserveCapacity(Self.scanRows)
            var bytes = 0
            var fetched = 0
            let cursor = try Row.fetchCursor(statement, arguments: [after, through, Self.scanRows])
            while let row = try cursor.next() {
                after = row[0]
                fetched += 1
                if let include, !include(row[1]) { continue }
                func bytesAt(_ index: Int) throws -> [UInt8]? { try row.withUnsafeData(atIndex: index) { $0.map { [UInt8]($0) } } }
                let raw = RawRow(
                    id: row[1], revision: UInt64(clamping: row[2] as Int64), contentHash: try bytesAt(3) ?? [],
                    published: row[4] ?? 0, category: try bytesAt(5) ?? [], title: try bytesAt(6) ?? [], body: try bytesAt(7),
                    source: try bytesAt(8), document: try bytesAt(9), documentLength: row[10] ?? 0, deletedAt: row[11])
                bytes += (raw.body?.count ?? 0) + (raw.source?.count ?? 0) + raw.documentLength
                rows.append(raw)
                if bytes >= Self.scanBytes { break }
            }
            // The dictionaries this chunk names, read here: the checks run on other threads.
            var dictionaries: [UInt32: [UInt8]] = [:]
            for row in rows {
                guard let document = row.document, let id = ArticleCompression.dictionaryID(of: document), dictionaries[id] == nil else { continue }
                if let bytes = try dictionary(db, id: id) { dictionaries[id] = bytes }
            }
            // The previous chunk's checks are done by now (or soon): hand them over in order.
            if let previous = inFlight {
                previous.done.wait()
                inFlight = nil
                try body(previous.results.value)
            }
            if fetched == 0 { return }
            let known = dictionaries
            let results = ScanResults()
            let done = DispatchSemaphore(value: 0)
            let chunk = rows
            DispatchQueue.global().async {
                results.value = Parallel.map(chunk, concurrency: workers) { Self.check($0, dictionaries: known, materialize: materialize) }
                done.signal()
            }
            inFlight = (done, results)
        }
    }

    /// The checked articles of one chunk, handed from the checking threads to the reading one
    /// (written before `done` is signalled, read after it is waited for).
    private final class ScanResults: @unchecked Sendable {
        var value: [ScannedArticle] = []
    }

    private static func check(_ row: RawRow, dictionaries: [UInt32: [UInt8]], materialize: Bool) -> ScannedArticle {
        var scanned = ScannedArticle(
            id: row.id, revision: row.revision, contentHash: row.contentHash, source: nil, problem: nil, deletedAt: row.deletedAt)
        let published = PublicationTime(sortKey: row.published)
        if let document = row.document {
            let raw: [UInt8]
            do {
                // The preset path: zlib's own re-check of the 32 KiB dictionary per article costs more
                // than the article (ArticleCompression+PresetInflate).
                raw = try document.withUnsafeBytes { bytes in
                    try ArticleCompression.inflateDocument(bytes, documentLength: row.documentLength) { dictionaries[$0] }
                }
            } catch {
                if let id = ArticleCompression.dictionaryID(of: document), dictionaries[id] == nil {
                    scanned.problem = "its document names dictionary \(String(id, radix: 16)), which the replica does not hold"
                } else {
                    scanned.problem = "its stored document cannot be read (\(error))"
                }
                return scanned
            }
            // A canonical document is its source's every field: hashing their bytes as the
            // rendering lays them out checks all of it. One that keeps its source verbatim is
            // decoded, and its fields checked against that source.
            if !materialize, let fields = CanonicalFields(document: raw) {
                scanned.actualHash = fields.sourceHash
                if fields.published != published || !fields.category.elementsEqual(row.category) || !fields.title.elementsEqual(row.title) {
                    scanned.problem = "its listing (date, category or title) differs from its text"
                }
            } else {
                let article: Article
                do {
                    article = try ArticleDocument.decode(raw)
                } catch {
                    scanned.problem = "its stored document cannot be read (\(error))"
                    return scanned
                }
                scanned.source = article.source
                scanned.actualHash = StoreDigest.contentHash(of: article.source)
                if article.published != published || Array(article.category.utf8) != row.category || Array(article.title.utf8) != row.title {
                    scanned.problem = "its listing (date, category or title) differs from its text"
                } else if raw[1] & ArticleDocument.hasSourceFlag != 0, let problem = Self.fieldsDisagree(with: article) {
                    scanned.problem = problem
                }
                if !materialize { scanned.source = nil }
            }
        } else if let source = row.source {
            scanned.source = materialize ? source : nil
            scanned.actualHash = StoreDigest.contentHash(of: source)
            let article = Article(
                published: published, category: String(decoding: row.category, as: UTF8.self), title: String(decoding: row.title, as: UTF8.self),
                body: String(decoding: row.body ?? [], as: UTF8.self), source: source)
            scanned.problem = Self.fieldsDisagree(with: article)
        } else if materialize {
            let source = SeedFormat.render(
                published: published, category: String(decoding: row.category, as: UTF8.self), title: String(decoding: row.title, as: UTF8.self),
                body: String(decoding: row.body ?? [], as: UTF8.self))
            scanned.source = source
            scanned.actualHash = StoreDigest.contentHash(of: source)
        } else {
            scanned.actualHash = CanonicalFields.renderedHash(
                published: published, category: row.category[...], title: row.title[...], body: (row.body ?? [])[...])
        }
        if scanned.problem == nil, scanned.actualHash != row.contentHash {
            scanned.problem = "its text does not match its content hash: the replica's copy was changed after it was received"
        } else if scanned.actualHash != row.contentHash {
            scanned.problem = (scanned.problem ?? "") + "; its text does not match its content hash"
        }
        return scanned
    }

    /// For an article kept with its source verbatim (not the canonical rendering), the hash covers
    /// only that source: the parsed fields beside it (what `show` and search read) must be what
    /// the source parses to.
    private static func fieldsDisagree(with article: Article) -> String? {
        guard let parsed = try? SeedFormat.parse(article.source) else { return "its source is no longer in the seed format" }
        if parsed.published != article.published || parsed.category.utf8.elementsEqual(article.category.utf8) == false
            || parsed.title.utf8.elementsEqual(article.title.utf8) == false || parsed.body.utf8.elementsEqual(article.body.utf8) == false
        {
            return "its text (date, category, title or body) differs from its source"
        }
        return nil
    }
}

/// The fields of a canonical document (no verbatim source, PROTOCOL.md §7.2) as ranges of its
/// bytes, and the SHA-256 of the source they render to (§7.2: "Veröffentlichungsdatum: DD.MM.YYYY
/// HH:MM / category", a blank line, the title twice, then the body), computed as the bytes stream
/// by, exactly as `SeedFormat.render` lays them out. Nil for anything else (a document with its
/// source, or fields that do not fit it): those take the full decode.
struct CanonicalFields {
    var published: PublicationTime
    var category: ArraySlice<UInt8>
    var title: ArraySlice<UInt8>
    var sourceHash: [UInt8]

    init?(document bytes: [UInt8]) {
        guard bytes.count >= 8 + 2 + 2 + 4, bytes[0] == ArticleDocument.version, bytes[1] == 0 else { return nil }
        // The date is not validated: a damaged one renders differently, and the hash tells.
        let year = Int(bytes[2]) << 8 | Int(bytes[3])
        let month = Int(bytes[4]), day = Int(bytes[5]), hour = Int(bytes[6]), minute = Int(bytes[7])
        var offset = 8
        func field(_ width: Int) -> ArraySlice<UInt8>? {
            guard offset + width <= bytes.count else { return nil }
            var length = 0
            for index in offset..<offset + width { length = length << 8 | Int(bytes[index]) }
            offset += width
            guard offset + length <= bytes.count else { return nil }
            defer { offset += length }
            return bytes[offset..<offset + length]
        }
        guard let category = field(2), let title = field(2), let body = field(4), offset == bytes.count else { return nil }
        published = PublicationTime(year: year, month: month, day: day, hour: hour, minute: minute)
        self.category = category
        self.title = title
        sourceHash = Self.renderedHash(published: published, category: category, title: title, body: body)
    }

    /// SHA-256 of `SeedFormat.render` of these fields, without building the rendering.
    static func renderedHash(
        published time: PublicationTime, category: ArraySlice<UInt8>, title: ArraySlice<UInt8>, body: ArraySlice<UInt8>
    ) -> [UInt8] {
        var hasher = SHA256()
        // "Veröffentlichungsdatum: DD.MM.YYYY HH:MM / ", as SeedFormat writes it: its rendering of
        // empty fields ends with the four line feeds around the title.
        let head = SeedFormat.render(published: time, category: "", title: "", body: "").dropLast(4)
        let blank: [UInt8] = [10, 10]
        hasher.update(data: head)
        hasher.update(data: category)
        hasher.update(data: blank)
        hasher.update(data: title)
        hasher.update(data: blank)
        hasher.update(data: title)
        if !body.isEmpty {
            hasher.update(data: blank)
            hasher.update(data: body)
        }
        return Array(hasher.finalize())
    }
}
