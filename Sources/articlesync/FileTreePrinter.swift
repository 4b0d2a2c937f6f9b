import ArgumentParser
import ArticleStore
import ArticleSyncClient

extension FileTreeLayout: ExpressibleByArgument {}

/// Runs a pass over a plain-file tree and says what it did, for `export` and `pull --files`.
struct FileTreePrinter {
    var console: Console
    var itemize: Bool
    var dryRun: Bool

    /// The layout to use: the flag, else the config file's `layout`, else the one the tree
    /// already has (so a plain `export DIR` never re-lays a tree), else flat.
    static func layout(flag: FileTreeLayout?, configured: String?, directory: String) -> FileTreeLayout {
        if let flag { return flag }
        if let configured, let layout = FileTreeLayout(rawValue: configured) { return layout }
        if let manifest = try? FileTreeManifest.open(directory: directory, readOnly: true),
            let recorded = try? manifest.state(), let layout = FileTreeLayout(rawValue: recorded.layout)
        {
            return layout
        }
        return .flat
    }

    func run(_ tree: FileTree, label: String) async throws -> FileTreeReport {
        let progress = ProgressBar(enabled: !console.quiet && !console.json && Console.stderrIsTerminal)
        let report: FileTreeReport
        do {
            report = try await tree.sync { done, total in
                console.emit(ProgressJSON(done: done, total: total))
                if done == 0 {
                    progress.start(label: label, from: 0, to: UInt64(total), unit: "files")
                } else {
                    progress.advance(toRevision: UInt64(done), articles: 0, bytes: 0)
                }
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        for notice in report.notices { console.note(notice) }
        for item in report.changes.items {
            console.say(item.line)
            console.emit(ChangeJSON(change: item.kind.rawValue, id: item.id, title: item.kind == .deleted ? nil : item.title))
        }
        for failure in report.failures {
            console.note("\(failure.id.map { "article \($0) (\(failure.file))" } ?? failure.file): \(failure.reason)")
        }
        if !report.removed.isEmpty && !itemize {
            // --delete names what it removes.
            let shown = report.removed.prefix(10).joined(separator: ", ")
            console.say("removed \(shown)" + (report.removed.count > 10 ? " and \(report.removed.count - 10) more (--itemize lists them)" : ""))
        }
        if report.keptStale > 0 {
            console.note("\(plural(report.keptStale, "file")) of deleted articles left in \(tree.directory) (--delete removes them)")
        }
        return report
    }

    func summary(_ report: FileTreeReport, directory: String, layout: FileTreeLayout) -> String {
        if dryRun {
            let moves = "move \(plural(report.moved, "file")) to the \(layout.rawValue) layout"
            let what =
                report.moved == 0 ? report.changes.summary(dryRun: true)
                : report.changes.isEmpty ? "would " + moves : report.changes.summary(dryRun: true) + ", " + moves
            return "dry run: \(what) in \(directory); nothing was changed"
        }
        return "\(directory) (\(layout.rawValue) layout) is at revision \(report.revision): \(plural(report.total, "article")), "
            + "\(report.written) written, \(report.moved) moved, \(report.removed.count) removed, \(report.unchanged) unchanged"
            + (report.failures.isEmpty ? "" : ", \(report.failures.count) failed")
    }

    func json(_ report: FileTreeReport, directory: String, layout: FileTreeLayout) -> FileTreeJSON {
        FileTreeJSON(
            directory: directory, layout: layout.rawValue, dryRun: dryRun, revision: report.revision, articles: report.total,
            added: report.changes.added, changed: report.changes.changed, deleted: report.changes.deleted,
            written: report.written, moved: report.moved, removed: report.removed.count, removedFiles: report.removed, unchanged: report.unchanged,
            keptStale: report.keptStale, failed: report.failures.map { FileTreeFailureJSON(id: $0.id, file: $0.file, reason: $0.reason) })
    }
}

struct FileTreeJSON: Encodable {
    var event = "files"
    var directory: String
    var layout: String
    var dryRun: Bool
    var revision: UInt64
    var articles: Int
    var added: Int
    var changed: Int
    var deleted: Int
    var written: Int
    var moved: Int
    var removed: Int
    /// What was removed, relative to the tree's root (`--delete` names it).
    var removedFiles: [String]
    var unchanged: Int
    var keptStale: Int
    var failed: [FileTreeFailureJSON]
}

struct FileTreeFailureJSON: Encodable {
    var id: String?
    var file: String
    var reason: String
}

private struct ChangeJSON: Encodable {
    var event = "item"
    var change: String
    var id: String
    var title: String?
}

/// With --json, one line as the pass starts writing and after each chunk of files.
private struct ProgressJSON: Encodable {
    var event = "progress"
    var done: Int
    var total: Int
}
