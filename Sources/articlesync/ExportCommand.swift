import ArgumentParser
import ArticleSyncClient

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Keep DIR a tree of plain files, one per live article, byte-identical to the server's sources (offline).",
        discussion: """
            The tree records the revision it is exact at and the files it wrote, in DIR/.articlesync-tree: \
            the next export writes only the articles changed since (each to a temporary file, then \
            renamed into place), leaves every other file alone (its mtime too), and is safe to kill \
            at any moment: the next run leaves the tree exact. Like rsync, it does not wait for the \
            disk; --fsync does (one syncfs before the revision is recorded), for a tree that must \
            also survive a power cut. Only files the tree wrote itself are \
            ever moved or removed; your own files in DIR are never touched. With --delete, the \
            files of articles that are no longer live are removed, and named. `pull --files DIR` \
            keeps the same tree after every pull.

            LAYOUTS (--layout): flat is DIR/<id>.txt; shard is DIR/<first two characters of the \
            id>/<id>.txt; date is DIR/YYYY/MM/<id>.txt by publication date; source is each \
            article's path as imported on the server (flat, with a notice, for articles a server \
            sent no path for). A new layout moves the files it can rather than writing them again. \
            Default: --layout, else `layout` in the config file, else the tree's own, else flat.

            -n/--dry-run prints what would be added, changed and deleted, and changes nothing; \
            -v/--itemize prints a line per change: `+ id title`, `~ id title`, `- id`.

            Each article is checked against its SHA-256 content hash as it is written: one whose \
            bytes in the replica changed is not exported but named, and so is one that cannot be \
            written; the export goes on with the others, then exits with 74 (the tree keeps its \
            old revision, so the next run tries them again).

            LONG IDS: an id may have up to 255 bytes, but a file name no more than 255, ".txt" \
            included. An id of more than 251 bytes is written as long-ids/<its first bytes>~<SHA-256 \
            of the id in hex>.txt (at most 255 bytes, the same name every time, never another \
            article's). Such a file cannot be imported back under its own id.

            --deleted writes the articles that pulls deleted and --keep-deleted kept (see `list \
            --deleted`) instead of the live ones, as DIR/<id>.txt (not a tree: no record, no \
            layout; it never removes a file, so --delete is refused with it): `articlesyncd import` \
            of that folder restores them.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: ArgumentHelp("The directory to write (created when missing).", valueName: "dir"))
    var directory: String

    @Option(name: .long, help: ArgumentHelp("Where each article goes: flat, shard, date or source (see below).", valueName: "layout"))
    var layout: FileTreeLayout? = nil

    @Flag(name: .long, help: "Remove the files of articles that are no longer live (only files the tree wrote; each is named).")
    var delete = false

    @Flag(name: [.customShort("n"), .long], help: "Print what would be added, changed and deleted; change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("v"), .long], help: "Print a line per change: `+ id title`, `~ id title`, `- id`.")
    var itemize = false

    @Flag(name: .long, help: "Export the deleted articles that `pull --keep-deleted` kept, instead of the live ones.")
    var deleted = false

    @Flag(name: .long, help: "Write the files out to disk (syncfs) before the tree records its revision: safe against a power cut, slower.")
    var fsync = false

    func validate() throws {
        if deleted && (layout != nil || dryRun || itemize || delete) {
            throw ValidationError(
                "--deleted writes a plain folder of kept articles: --layout, --dry-run, --itemize and --delete apply to the live tree only "
                    + "(that folder keeps no record of the files it wrote, so it never removes one)")
        }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            if deleted { return try await exportKept(console) }
            let settings = try? ClientSettings.resolve(options.commandLine, environment: options.environment, knownServers: false)
            let layout = FileTreePrinter.layout(flag: self.layout, configured: settings?.layout?.value, directory: directory)
            let tree = FileTree(
                replicaPath: options.replicaPath, directory: directory, layout: layout, deleteStale: delete, dryRun: dryRun, itemize: itemize || dryRun,
                flush: fsync)
            let printer = FileTreePrinter(console: console, itemize: itemize || dryRun, dryRun: dryRun)
            let report = try await printer.run(tree, label: "exporting")
            console.emit(printer.json(report, directory: directory, layout: layout))
            console.say(printer.summary(report, directory: directory, layout: layout))
            return report.failures.isEmpty ? .ok : .ioError
        }
    }

    private func exportKept(_ console: Console) async throws -> ExitStatus {
        let progress = ProgressBar(enabled: !console.quiet && !console.json && Console.stderrIsTerminal)
        let exporter = Exporter(replicaPath: options.replicaPath, directory: directory)
        let report = try await exporter.export { done, total in
            if done == 1 { progress.start(label: "exporting", from: 0, to: UInt64(total), unit: "articles") }
            progress.advance(toRevision: UInt64(done), articles: 0, bytes: 0)
        }
        progress.finish()
        console.emit(ExportJSON(
            directory: directory, articles: report.total, written: report.written, unchanged: report.unchanged,
            failed: report.failures.map { FailureJSON(id: $0.id, file: $0.file, reason: $0.reason) }))
        for failure in report.failures {
            console.note("\(failure.id.map { "article \($0) (\(failure.file))" } ?? failure.file): \(failure.reason)")
        }
        console.say("exported \(plural(report.total, "kept deleted article")) to \(directory): \(report.written) written, \(report.unchanged) unchanged"
            + (report.failures.isEmpty ? "" : ", \(report.failures.count) failed"))
        return report.failures.isEmpty ? .ok : .ioError
    }
}

private struct ExportJSON: Encodable {
    var directory: String
    var articles: Int
    var written: Int
    var unchanged: Int
    var failed: [FailureJSON]
}

private struct FailureJSON: Encodable {
    var id: String?
    var file: String
    var reason: String
}
