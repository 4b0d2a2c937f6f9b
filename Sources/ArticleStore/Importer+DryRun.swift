import ArticleModel
import Foundation
import GRDB

/// One article an import would add, change or (with `deleteMissing`) delete.
public struct ImportPlanItem: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case added, changed, deleted
    }

    public var kind: Kind
    public var id: String
    /// nil for a deletion.
    public var title: String?
    /// The file it would come from (nil for a deletion).
    public var path: String?

    public init(kind: Kind, id: String, title: String?, path: String?) {
        self.kind = kind
        self.id = id
        self.title = title
        self.path = path
    }
}

/// What `articlesyncd import --dry-run` found.
public struct ImportPlan: Sendable {
    /// In walk order; deletions last, by id.
    public var items: [ImportPlanItem] = []
    public var files = 0
    public var unchanged = 0
    public var errors: [ImportFileError] = []
    public var skipped: [ImportFileError] = []
    /// The live articles of the store before the import.
    public var liveCount: UInt64 = 0
    /// `deleteMissing` would be refused by the mass-deletion guard (or the walk found no file).
    public var refusal: String? = nil
    /// `deleteMissing` would delete nothing because a path could not be read.
    public var deletionSkipped: String? = nil

    public func count(_ kind: ImportPlanItem.Kind) -> Int { items.count { $0.kind == kind } }
}

extension Importer {
    /// The plan of importing `paths` into the store at `storePath`, without making it: every file
    /// is read, parsed and hashed as the import would, and compared with the store's live
    /// articles. The store is opened read-only (no migration, no checkpoint) and the ids seen go
    /// to a TEMP table (SQLite's own temporary file, not the store's), so the store's file is left
    /// byte for byte as it was and what the plan holds does not grow with the files walked.
    public static func plan(storeAt storePath: String, paths: [String], options: ImportOptions) throws -> ImportPlan {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: storePath, configuration: configuration)
        } catch {
            throw StoreError("cannot open the store at \(storePath): \(StoreFile.describe(error))")
        }
        defer { try? queue.close() }
        let role = try queue.read { db in try String.fetchOne(db, sql: "SELECT role FROM store_meta") }
        guard role == "canonical" else { throw StoreError("\(storePath) is \(role.map { "a \($0) store" } ?? "not a store"), not a server's store") }
        return try plan(queue, paths: paths, options: options)
    }

    private static func plan(_ queue: DatabaseQueue, paths: [String], options: ImportOptions) throws -> ImportPlan {
        try queue.inDatabase { db in
            try db.execute(sql: "CREATE TEMP TABLE import_plan_seen (id TEXT PRIMARY KEY, path TEXT NOT NULL)")
            defer { try? db.execute(sql: "DROP TABLE IF EXISTS temp.import_plan_seen") }
            return try plan(db, paths: paths, options: options)
        }
    }

    private static func plan(_ db: Database, paths: [String], options: ImportOptions) throws -> ImportPlan {
        var plan = ImportPlan()
        let remember = try db.makeStatement(sql: "INSERT OR IGNORE INTO temp.import_plan_seen (id, path) VALUES (?, ?)")
        let firstPath = try db.makeStatement(sql: "SELECT path FROM temp.import_plan_seen WHERE id = ?")
        var walker = FileWalker(roots: paths)
        plan.liveCount = try MetaState.load(db).liveCount
        while true {
            var chunk: [FileWalker.Item] = []
            chunk.reserveCapacity(options.chunkSize)
            while chunk.count < options.chunkSize, let item = walker.next() { chunk.append(item) }
            if chunk.isEmpty { break }
            let entries = Parallel.map(chunk, concurrency: options.concurrency) { item in Self.load(item) }
            let stored: [(live: Bool, hash: [UInt8]?)] = try entries.map { entry in
                guard let id = entry.id, entry.article != nil, let row = try ExistingRow.fetch(db, id: id) else { return (false, nil) }
                return (!row.deleted, row.contentHash)
            }
            for (entry, existing) in zip(entries, stored) {
                if entry.skipped, let notice = entry.error {
                    plan.skipped.append(notice)
                    continue
                }
                plan.files += 1
                if let id = entry.id {
                    try remember.execute(arguments: [id, entry.path])
                    if db.changesCount == 0 {
                        let earlier = try String.fetchOne(firstPath, arguments: [id]) ?? "another file"
                        plan.errors.append(ImportFileError(path: entry.path, line: nil, reason: "the id '\(id)' is already taken by \(earlier)"))
                        continue
                    }
                }
                guard let id = entry.id, let article = entry.article, let hash = entry.contentHash else {
                    plan.errors.append(entry.error ?? ImportFileError(path: entry.path, line: nil, reason: "unreadable"))
                    continue
                }
                if existing.live && existing.hash == hash {
                    plan.unchanged += 1
                } else {
                    plan.items.append(ImportPlanItem(kind: existing.live ? .changed : .added, id: id, title: article.title, path: entry.path))
                }
            }
        }
        guard options.deleteMissing else { return plan }
        guard walker.sawEverything else {
            plan.deletionSkipped = "not deleting missing articles: some paths could not be read"
            return plan
        }
        // Byte order, as SQLite compares TEXT.
        let gone = try String.fetchAll(
            db, sql: "SELECT id FROM article WHERE deleted = 0 AND id NOT IN (SELECT id FROM temp.import_plan_seen) ORDER BY id")
        plan.items += gone.map { ImportPlanItem(kind: .deleted, id: $0, title: nil, path: nil) }
        if !options.force {
            if plan.files == 0 && plan.liveCount > 0 {
                plan.refusal = "found no files in \(paths.joined(separator: ", ")), so --delete-missing would delete all \(plan.liveCount) articles of the store; the import would be refused (--force accepts it)"
            } else {
                if gone.count > options.deletionLimit(of: plan.liveCount) {
                    plan.refusal = "--delete-missing would delete \(gone.count) of the store's \(plan.liveCount) articles, more than the \(Int((options.maxDeleteFraction * 100).rounded()))% limit: the import would be refused (--force or --max-delete-percent accepts it)"
                }
            }
        }
        return plan
    }
}
