import ArticleModel
import ArticleStore
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one pass over a plain-file tree did (or, in a dry run, would do).
public struct FileTreeReport: Sendable {
    /// Articles added, changed (content or place) and deleted, by id.
    public var changes: ChangeReport
    public var written = 0
    /// Files moved to a new place without being rewritten (a new layout, a new date).
    public var moved = 0
    /// Files removed, relative to the tree's root, in the order removed.
    public var removed: [String] = []
    public var unchanged = 0
    /// Live articles in the replica.
    public var total = 0
    /// Files of deleted articles left in place (no `--delete`); they stay listed as the tree's own.
    public var keptStale = 0
    public var failures: [ExportFailure] = []
    /// Things worth a line: a layout the server cannot serve, articles that fell back to flat.
    public var notices: [String] = []
    /// The replica revision the tree is exact at after the pass (unchanged after a dry run, or
    /// when some article failed: the next pass tries those again).
    public var revision: UInt64 = 0
    /// A full pass: the tree had no usable record of itself (new, another store, another layout).
    public var full = false
}

/// Keeps a tree of plain files (`<id>.txt`, byte-identical to the server's sources) in step with
/// the replica, incrementally: the tree records the revision it is exact at and the files it wrote
/// (`FileTreeManifest`, inside the tree), so a pass reads only the articles changed since, writes
/// each atomically (a temporary file in the tree, then a rename), removes the files of deleted
/// articles, and never touches a file it did not write. Files already right are never rewritten,
/// so their mtime stays and backup tools see no change.
///
/// Crash safety: a file is listed before it appears and gets its hash once it is in place; the
/// revision moves only when every file of the pass is in place (and, with `flush`, on disk). A run
/// killed at any point leaves listed files of unknown content at worst, which the next pass (from
/// the old revision) writes again or removes: the tree is exact after it.
public struct FileTree: Sendable {
    public var replicaPath: String
    public var directory: String
    public var layout: FileTreeLayout
    /// Remove the files of articles that are no longer live (`pull --files` always does).
    public var deleteStale: Bool
    public var dryRun: Bool
    /// Keep a line per change in the report (`--itemize`).
    public var itemize: Bool
    /// `--fsync`: the files are on disk (syncfs) before the tree records its new revision, so a
    /// power cut never leaves a recorded revision with files the disk lost. Off by default, as
    /// rsync's is: one syncfs writes out everything dirty on the file system, other programs' too.
    public var flush: Bool
    /// Live rows planned and written at a time: what a pass holds, whatever the replica's size.
    public var pageRows = 2_048

    public init(
        replicaPath: String, directory: String, layout: FileTreeLayout, deleteStale: Bool, dryRun: Bool = false, itemize: Bool = false,
        flush: Bool = false
    ) {
        self.replicaPath = replicaPath
        self.directory = directory
        self.layout = layout
        self.deleteStale = deleteStale
        self.dryRun = dryRun
        self.itemize = itemize
        self.flush = flush
    }

    static let temporaryFolder = FileTreeManifest.reservedPrefix + ".tmp"
    /// Files written between two records in the manifest.
    static let recordEvery = 2_000

    /// One article's part of the plan.
    struct Step {
        var id: String
        var target: String
        var hash: [UInt8]
        /// Where the same bytes already are (a move), if anywhere.
        var moveFrom: String?
        /// The tree's other files of this article, removed once the target is in place.
        var obsolete: [String]
    }

    public func sync(progress: @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }) async throws -> FileTreeReport {
        let store = try Replica.openExisting(at: replicaPath)
        defer { try? store.close() }
        if !dryRun {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ClientError(.ioError, "cannot create \(directory): \(error.localizedDescription)")
            }
        }
        let manifest: FileTreeManifest?
        do {
            manifest = try FileTreeManifest.open(directory: directory, readOnly: dryRun)
        } catch {
            throw ClientError(.ioError, "\(directory): \(error)")
        }
        let recorded = try manifest?.state()
        var report = FileTreeReport(changes: ChangeReport(itemized: itemize))
        if !dryRun { clearTemporaryFolder() }
        defer { if !dryRun { rmdir(directory + "/" + Self.temporaryFolder) } }

        // An incremental pass needs the same store and layout, and a replica not behind the tree.
        var after: UInt64? = nil
        if let recorded, recorded.layout == layout.rawValue { after = recorded.revision }
        var state: FileTreeManifest.State? = nil
        var restart = true
        while restart {
            restart = false
            report = FileTreeReport(changes: ChangeReport(itemized: itemize))
            let incremental = after
            var pass = Pass()
            let directory = self.directory
            do {
                try await store.readFileTree(
                    after: incremental, pageRows: pageRows,
                    begin: { snapshot in
                        if let base = incremental, snapshot.upstream != recorded?.upstream || snapshot.cursor < base {
                            after = nil
                            restart = true
                            return false
                        }
                        state = FileTreeManifest.State(revision: snapshot.cursor, upstream: snapshot.upstream, layout: layout.rawValue)
                        report.total = snapshot.liveCount
                        report.full = incremental == nil
                        pass.listedAtStart = try manifest?.idCount() ?? 0
                        pass.rows = snapshot.rowCount
                        progress(0, pass.rows)
                        return true
                    },
                    plan: { rows in
                        pass.steps = [:]
                        try plan(rows, manifest: manifest, full: incremental == nil, into: &report, pass: &pass)
                        // Rows that need no write are done once planned.
                        pass.done += rows.count - pass.steps.count
                        if dryRun {
                            pass.done += pass.steps.count
                            progress(pass.done, pass.rows)
                            return []
                        }
                        // Every file about to appear is listed first: a kill leaves none unlisted.
                        try manifest?.listPending(pass.steps.values.map { (path: $0.target, id: $0.id) })
                        var placed: [FileTreeManifest.Entry] = []
                        var movedFrom: [String] = []
                        for move in pass.steps.values where move.moveFrom != nil {
                            if let failure = Self.move(directory, from: move.moveFrom!, to: move.target) {
                                report.failures.append(ExportFailure(id: move.id, file: move.target, reason: "cannot be moved: \(failure)"))
                            } else {
                                placed.append(FileTreeManifest.Entry(path: move.target, id: move.id, hash: move.hash))
                                // A file adopted where it is (moveFrom == target) stays listed.
                                if move.moveFrom != move.target {
                                    report.moved += 1
                                    movedFrom.append(move.moveFrom!)
                                }
                            }
                            pass.done += 1
                        }
                        try manifest?.record(placed: placed, removed: movedFrom, state: nil)
                        Self.addFolders(of: movedFrom, to: &pass.vacated)
                        for step in pass.steps.values where !step.obsolete.isEmpty { pass.obsolete.append((step.id, step.obsolete)) }
                        progress(pass.done, pass.rows)
                        return Set(pass.steps.compactMap { $0.value.moveFrom == nil ? $0.key : nil })
                    },
                    write: { chunk in
                        for article in chunk {
                            guard let step = pass.steps[Array(article.id.utf8)] else { continue }
                            pass.done += 1
                            guard let source = article.source, article.actualHash == article.contentHash else {
                                report.failures.append(ExportFailure(
                                    id: article.id, file: step.target,
                                    reason: "not written: \(article.problem ?? "its text does not match its content hash")"))
                                continue
                            }
                            if let failure = Self.write(source, directory: directory, to: step.target) {
                                report.failures.append(ExportFailure(id: article.id, file: step.target, reason: "cannot be written: \(failure)"))
                                continue
                            }
                            report.written += 1
                            pass.written.append(FileTreeManifest.Entry(path: step.target, id: step.id, hash: article.contentHash))
                        }
                        if pass.written.count >= Self.recordEvery {
                            try manifest?.record(placed: pass.written, removed: [], state: nil)
                            pass.written.removeAll(keepingCapacity: true)
                        }
                        progress(pass.done, pass.rows)
                    },
                    finish: { nextLiveID in
                        try findDeleted(manifest: manifest, liveCount: report.total, nextLiveID: nextLiveID, into: &report, pass: &pass)
                    })
            } catch let error as ClientError {
                throw error
            } catch {
                throw ClientError.replica(replicaPath, "cannot be read: \(error)")
            }
            if !restart && pass.withoutSource > 0 {
                let count = pass.withoutSource
                report.notices.append(
                    "\(count == 1 ? "1 article" : "\(count) articles") came without the path it was imported under (a server without the source-path feature, or articles imported before it): written flat, as <id>.txt")
            }
            if restart || dryRun { continue }
            try manifest?.record(placed: pass.written, removed: [], state: nil)
            // An article planned but gone by the time it was read: its listing stays without a
            // hash, and the next pass removes it.
            let failedIDs = Set(report.failures.compactMap { $0.id.map { ArticleKey($0) } })
            var removed: [String] = []
            for (id, paths) in pass.obsolete where !failedIDs.contains(ArticleKey(id)) {
                for path in paths { if removeFile(path, id: id, into: &report) { removed.append(path) } }
            }
            for entry in pass.deletions {
                if removeFile(entry.path, id: entry.id, into: &report) { removed.append(entry.path) }
            }
            Self.addFolders(of: removed, to: &pass.vacated)
            removeEmptyFolders(pass.vacated)
            // With `flush`, the files are on disk before the manifest says the tree is exact here.
            let descriptor = flush ? Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1
            if descriptor >= 0 {
                _ = flushFileSystem(descriptor)
                Glibc.close(descriptor)
            }
            let complete = report.failures.isEmpty
            try manifest?.record(placed: [], removed: removed, state: complete ? state : nil)
            report.revision = complete ? (state?.revision ?? 0) : (recorded?.revision ?? 0)
        }
        if dryRun { report.revision = recorded?.revision ?? 0 }
        // Every live article not written, moved or failed was already right.
        let touched = dryRun ? report.changes.added + report.changes.changed + report.moved : report.written + report.moved
        report.unchanged = max(0, report.total - touched - report.failures.filter { $0.id != nil }.count)
        return report
    }

    /// What one pass carries from page to page: the current page's steps, and what is left for
    /// the end (files to remove, folders they may leave empty). It grows with the work to do, not
    /// with the tree.
    struct Pass {
        var steps: [[UInt8]: Step] = [:]
        /// Written files not yet recorded in the manifest.
        var written: [FileTreeManifest.Entry] = []
        /// Other files of articles now written elsewhere, removed once the pass has placed them.
        var obsolete: [(id: String, paths: [String])] = []
        /// Files of deleted articles, and copies of unchanged ones at a place they no longer have.
        var deletions: [FileTreeManifest.Entry] = []
        /// Folders a move or removal may have emptied.
        var vacated = Set<String>()
        /// Distinct ids the manifest listed when the pass began, and the pass's rows that had none.
        var listedAtStart = 0
        var newIDs = 0
        var withoutSource = 0
        var rows = 0
        var done = 0
    }

    /// Decides, without reading any file, what each article of a page needs.
    private func plan(
        _ rows: [FileTreeRow], manifest: FileTreeManifest?, full: Bool, into report: inout FileTreeReport, pass: inout Pass
    ) throws {
        let listed = try manifest?.entries(ids: rows.map(\.id)) ?? [:]
        for row in rows {
            let key = Array(row.id.utf8)
            if layout == .source && (row.sourcePath.flatMap { FileTreeLayout.checkedSourcePath($0, id: row.id) } == nil) { pass.withoutSource += 1 }
            let target = layout.path(id: row.id, published: row.published, sourcePath: row.sourcePath)
            let entries = listed[key] ?? []
            if entries.isEmpty { pass.newIDs += 1 }
            let obsolete = entries.map(\.path).filter { $0 != target }
            if let same = entries.first(where: { $0.path == target }), same.hash == row.contentHash, !full || exists(target) {
                // In place already; copies elsewhere (a layout or date this article had) go.
                report.unchanged += 1
                for path in obsolete { pass.deletions.append(FileTreeManifest.Entry(path: path, id: row.id, hash: nil)) }
                continue
            }
            // The same bytes elsewhere in the tree (another layout, another date): moved, not rewritten.
            if let source = entries.first(where: { $0.path != target && $0.hash == row.contentHash }), exists(source.path) {
                pass.steps[key] = Step(
                    id: row.id, target: target, hash: row.contentHash, moveFrom: source.path, obsolete: obsolete.filter { $0 != source.path })
                if dryRun { report.moved += 1 }
                continue
            }
            // A file at the target that the tree never listed (an export made before the tree kept
            // a manifest) is adopted when it already holds the article.
            if full, entries.isEmpty, let existing = PlainFile.read(directory + "/" + target),
                StoreDigest.contentHash(of: existing) == row.contentHash
            {
                pass.steps[key] = Step(id: row.id, target: target, hash: row.contentHash, moveFrom: target, obsolete: [])
                report.unchanged += 1
                continue
            }
            pass.steps[key] = Step(id: row.id, target: target, hash: row.contentHash, moveFrom: nil, obsolete: obsolete)
            report.changes.record(entries.isEmpty ? .added : .changed, id: row.id, title: row.title)
        }
    }

    /// Deleted articles: ids the manifest lists that are no longer live. Every live article is
    /// listed once the pass's rows are, so a count that says so means nothing was deleted, without
    /// listing the replica; otherwise the manifest's ids and the replica's live ids are walked
    /// side by side in byte order, one at a time.
    private func findDeleted(
        manifest: FileTreeManifest?, liveCount: Int, nextLiveID: () throws -> String?, into report: inout FileTreeReport, pass: inout Pass
    ) throws {
        guard let manifest, pass.listedAtStart + pass.newIDs != liveCount else { return }
        var gone: [String] = []
        var live = try nextLiveID()
        try manifest.forEachID { id in
            while let current = live, current.utf8.lexicographicallyPrecedes(id.utf8) { live = try nextLiveID() }
            if let current = live, current.utf8.elementsEqual(id.utf8) { return }
            gone.append(id)
        }
        guard !gone.isEmpty else { return }
        let entries = try manifest.entries(forSortedIDs: gone)
        if deleteStale {
            for id in gone { report.changes.record(.deleted, id: id) }
            pass.deletions.append(contentsOf: entries)
        } else {
            report.keptStale = entries.count
        }
    }

    private func exists(_ relative: String) -> Bool {
        var info = stat()
        return lstat(directory + "/" + relative, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Removes a listed file (a missing one counts as removed); false, with a failure, when it stays.
    private func removeFile(_ relative: String, id: String, into report: inout FileTreeReport) -> Bool {
        let path = directory + "/" + relative
        var info = stat()
        if lstat(path, &info) != 0 { return errno == ENOENT }
        // Only a regular file is the tree's: whatever a user put at that name stays.
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            report.failures.append(ExportFailure(id: id, file: relative, reason: "not removed: it is no longer a plain file"))
            return false
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            report.failures.append(ExportFailure(id: id, file: relative, reason: "cannot be removed: \(PlainFile.lastError())"))
            return false
        }
        report.removed.append(relative)
        return true
    }

    /// The folders holding `paths` (and their parents), which a move or removal may leave empty.
    static func addFolders(of paths: [String], to folders: inout Set<String>) {
        for path in paths {
            var parts = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            while !parts.isEmpty {
                folders.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
    }

    /// Folders a move or removal left empty go too (rmdir never removes one that holds anything).
    private func removeEmptyFolders(_ folders: Set<String>) {
        for folder in folders.sorted(by: { $0.count > $1.count }) { rmdir(directory + "/" + folder) }
    }

    private func clearTemporaryFolder() {
        let folder = directory + "/" + Self.temporaryFolder
        for name in PlainFile.names(in: folder) { _ = PlainFile.remove(Array((folder + "/").utf8) + name) }
        mkdir(folder, 0o700)
    }

    /// Writes into the tree's temporary folder, then renames into place (creating folders as
    /// needed): nobody ever sees half a file at an article's name.
    static func write(_ bytes: [UInt8], directory: String, to relative: String) -> String? {
        let temporary = directory + "/" + temporaryFolder + "/\(UInt64.random(in: 0...UInt64.max)).tmp"
        let descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return PlainFile.lastError() }
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = PlainFile.lastError()
                Glibc.close(descriptor)
                unlink(temporary)
                return reason
            }
            done += count
        }
        guard Glibc.close(descriptor) == 0 else {
            let reason = PlainFile.lastError()
            unlink(temporary)
            return reason
        }
        if let failure = rename(temporary, into: directory, relative) {
            unlink(temporary)
            return failure
        }
        return nil
    }

    static func move(_ directory: String, from: String, to relative: String) -> String? {
        if from == relative { return nil }
        return rename(directory + "/" + from, into: directory, relative)
    }

    private static func rename(_ from: String, into directory: String, _ relative: String) -> String? {
        let target = directory + "/" + relative
        if Glibc.rename(from, target) == 0 { return nil }
        guard errno == ENOENT, relative.contains("/") else { return PlainFile.lastError() }
        // The folder is missing: made once, then the rename again.
        var folder = directory
        for part in relative.split(separator: "/").dropLast() {
            folder += "/" + part
            guard mkdir(folder, 0o755) == 0 || errno == EEXIST else { return PlainFile.lastError() }
        }
        return Glibc.rename(from, target) == 0 ? nil : PlainFile.lastError()
    }
}

#if os(Linux)
/// glibc's syncfs(2) (declared only under _GNU_SOURCE, which Swift's Glibc module leaves out): one
/// call writes out the tree's files and renames, instead of an fsync per file.
@_silgen_name("syncfs")
private func flushFileSystem(_ descriptor: Int32) -> Int32
#else
private func flushFileSystem(_ descriptor: Int32) -> Int32 { fsync(descriptor) }
#endif
