import ArgumentParser
import ArticleSyncClient

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every live article to DIR as <id>.txt, byte-identical to the server's source (offline).",
        discussion: """
            Files whose content is already right are left untouched. With --delete, *.txt files of \
            articles that are no longer live are removed, so DIR stays an exact plain-file mirror.

            Each article is checked against its SHA-256 content hash as it is written: one whose \
            bytes in the replica changed is not exported but named, and so is one that cannot be \
            written; the export goes on with the others (and --delete still runs), then exits with 74.

            LONG IDS: an id may have up to 255 bytes, but a file name no more than 255, ".txt" \
            included. An id of more than 251 bytes is written as long-ids/<its first bytes>~<SHA-256 \
            of the id in hex>.txt (at most 255 bytes, the same name every time, never another \
            article's). Such a file cannot be imported back under its own id.

            --deleted writes the articles that pulls deleted and --keep-deleted kept (see `list \
            --deleted`) instead of the live ones, under the same names: `articlesyncd import` of \
            that folder restores them.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: ArgumentHelp("The directory to write (created when missing).", valueName: "dir"))
    var directory: String

    @Flag(name: .long, help: "Remove *.txt files in DIR whose article is not in the export.")
    var delete = false

    @Flag(name: .long, help: "Export the deleted articles that `pull --keep-deleted` kept, instead of the live ones.")
    var deleted = false

    func run() async throws {
        let console = options.console
        try await console.run {
            let progress = ProgressBar(enabled: !console.quiet && !console.json && Console.stderrIsTerminal)
            let exporter = Exporter(replicaPath: options.replicaPath, directory: directory, deleteStale: delete, kept: deleted)
            progress.start(label: "exporting", from: 0, to: 1, unit: "articles")
            let report = try await exporter.export { done, total in
                if done == 1 { progress.start(label: "exporting", from: 0, to: UInt64(total), unit: "articles") }
                progress.advance(toRevision: UInt64(done), articles: 0, bytes: 0)
            }
            progress.finish()
            console.emit(ExportJSON(
                directory: directory, articles: report.total, written: report.written, unchanged: report.unchanged,
                removed: report.removed, failed: report.failures.map { FailureJSON(id: $0.id, file: $0.file, reason: $0.reason) }))
            for failure in report.failures {
                console.note("\(failure.id.map { "article \($0) (\(failure.file))" } ?? failure.file): \(failure.reason)")
            }
            let what = deleted ? "kept deleted article" : "article"
            console.say("exported \(plural(report.total, what)) to \(directory): \(report.written) written, \(report.unchanged) unchanged, \(report.removed) removed"
                + (report.failures.isEmpty ? "" : ", \(report.failures.count) failed"))
            return report.failures.isEmpty ? .ok : .ioError
        }
    }
}

private struct ExportJSON: Encodable {
    var directory: String
    var articles: Int
    var written: Int
    var unchanged: Int
    var removed: Int
    var failed: [FailureJSON]
}

private struct FailureJSON: Encodable {
    var id: String?
    var file: String
    var reason: String
}
