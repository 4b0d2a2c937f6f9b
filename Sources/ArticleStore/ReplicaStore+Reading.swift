import ArticleModel
import Foundation
import GRDB

/// A category and how many live articles it holds.
public struct CategoryCount: Sendable, Hashable {
    public var name: String
    public var count: Int

    public init(name: String, count: Int) {
        self.name = name
        self.count = count
    }
}

/// What an id prefix names in the replica.
public enum IDMatch: Sendable, Hashable {
    case unique(String)
    /// Several ids begin so: the first few of them, in order, and whether there are more.
    case ambiguous([String], more: Bool)
    case none
}

/// What a category typed by a reader names: case is not significant ("welt nachrichten").
public enum CategoryMatch: Sendable, Hashable {
    case exact(String)
    /// No category has that name; these contain it (case-insensitively), for "did you mean".
    case unknown(suggestions: [String])
}

/// Where a listing page starts: after this article in newest-first order.
public struct ListPosition: Sendable, Hashable {
    public var published: PublicationTime
    public var id: String

    public init(published: PublicationTime, id: String) {
        self.published = published
        self.id = id
    }
}

extension ReplicaStore {
    /// Every category with its count of live articles, largest first (then by name).
    public func categories() async throws -> [CategoryCount] {
        try await file.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT category, count(*) AS n FROM article WHERE deleted = 0 GROUP BY category ORDER BY n DESC, category"
            ).map { CategoryCount(name: $0["category"], count: $0["n"]) }
        }
    }

    /// The category `text` names, ignoring case (Unicode-aware: "ÖSTERREICH" is "Österreich").
    public func resolveCategory(_ text: String) async throws -> CategoryMatch {
        let names = try await categories().map(\.name)
        if names.contains(text) { return .exact(text) }
        let wanted = text.lowercased()
        if let name = names.first(where: { $0.lowercased() == wanted }) { return .exact(name) }
        return .unknown(suggestions: names.filter { $0.lowercased().contains(wanted) || wanted.contains($0.lowercased()) })
    }

    /// The live article whose id is `prefix` or begins with it, as `git` takes commit prefixes.
    public func resolveID(_ prefix: String, suggestions: Int = 8) async throws -> IDMatch {
        guard !prefix.isEmpty else { return .none }
        return try await file.pool.read { db in
            // A range on the id's unique index: ids are lower-case hex, any text sorts the same way.
            let ids = try String.fetchAll(
                db,
                sql: "SELECT id FROM article WHERE id >= ? AND id < ? AND deleted = 0 ORDER BY id LIMIT ?",
                arguments: [prefix, prefix + "\u{10FFFF}", suggestions + 1])
            if ids.contains(prefix) { return .unique(prefix) }
            switch ids.count {
            case 0: return .none
            case 1: return .unique(ids[0])
            default: return .ambiguous(Array(ids.prefix(suggestions)), more: ids.count > suggestions)
            }
        }
    }

    /// A page of the newest-first listing: up to `limit` articles after `position` (from the
    /// newest when nil) that `filter` lets through. Keyset paging: a page deep in the archive costs
    /// what the first does, and articles a pull adds meanwhile do not shift the next page.
    public func listPage(_ filter: ListFilter, after position: ListPosition?, limit: Int) async throws -> [ArticleSummary] {
        try await file.pool.read { db in
            var sql = "SELECT id, revision, published, category, title FROM article WHERE deleted = 0"
            var arguments = StatementArguments()
            Self.appendFilter(filter, to: &sql, &arguments)
            if let position {
                // `published <= ?` first: a range on the published index (the OR alone is a scan).
                sql += " AND published <= ? AND (published < ? OR id > ?)"
                arguments += [position.published.sortKey, position.published.sortKey, position.id]
            }
            sql += " ORDER BY published DESC, id LIMIT ?"
            arguments += [max(0, limit)]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(StoreFile.summary)
        }
    }

    /// The articles before (newer) and after (older) `id` in the newest-first listing that
    /// `filter` lets through; nil at either end, or both for an unknown id.
    public func neighbours(of id: String, in filter: ListFilter) async throws -> (newer: ArticleSummary?, older: ArticleSummary?) {
        try await file.pool.read { db in
            guard let key = try Int64.fetchOne(db, sql: "SELECT published FROM article WHERE id = ? AND deleted = 0", arguments: [id])
            else { return (nil, nil) }
            func one(_ condition: String, _ order: String) throws -> ArticleSummary? {
                var sql = "SELECT id, revision, published, category, title FROM article WHERE deleted = 0"
                var arguments = StatementArguments()
                Self.appendFilter(filter, to: &sql, &arguments)
                sql += " AND \(condition) ORDER BY \(order) LIMIT 1"
                arguments += [key, key, id]
                return try Row.fetchOne(db, sql: sql, arguments: arguments).map(StoreFile.summary)
            }
            // Each a range on the published index, so LIMIT 1 reads a row or two, not the table.
            return (
                try one("published >= ? AND (published > ? OR id < ?)", "published ASC, id DESC"),
                try one("published <= ? AND (published < ? OR id > ?)", "published DESC, id")
            )
        }
    }

    /// The highest revision the replica holds (0 when empty): what a reader has been shown.
    public func latestRevision() async throws -> UInt64 {
        try await file.pool.read { db in
            UInt64(clamping: try Int64.fetchOne(db, sql: "SELECT max(revision) FROM article WHERE deleted = 0") ?? 0)
        }
    }

    private static func appendFilter(_ filter: ListFilter, to sql: inout String, _ arguments: inout StatementArguments) {
        if let category = filter.category {
            sql += " AND category = ?"
            arguments += [category]
        }
        if let from = filter.from {
            sql += " AND published >= ?"
            arguments += [from.sortKey]
        }
        if let to = filter.to {
            sql += " AND published <= ?"
            arguments += [to.sortKey]
        }
    }
}
