import ArgumentParser
import ArticleSyncClient

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every live article to DIR as <id>.txt, byte-identical to the server's source (offline).",
        discussion: "Files whose content is already right are left untouched. With --delete, *.txt files of articles that are no longer live are removed, so DIR stays an exact plain-file mirror."
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: ArgumentHelp("The directory to write (created when missing).", valueName: "dir"))
    var directory: String

    @Flag(name: .long, help: "Remove *.txt files in DIR whose article is not live in the replica.")
    var delete = false

    func run() async throws {
        let console = options.console
        try await console.run {
            let progress = ProgressBar(enabled: !console.quiet && !console.json && Console.stderrIsTerminal)
            let exporter = Exporter(replicaPath: options.replicaPath, directory: directory, deleteStale: delete)
            progress.start(label: "exporting", from: 0, to: 1)
            let report = try await exporter.export { done, total in
                progress.advance(toRevision: total == 0 ? 1 : UInt64(done * 1000 / total) / 1000, articles: 1, bytes: 0)
            }
            progress.finish()
            console.emit(ExportJSON(directory: directory, articles: report.total, written: report.written, unchanged: report.unchanged, removed: report.removed))
            console.say("exported \(plural(report.total, "article")) to \(directory): \(report.written) written, \(report.unchanged) unchanged, \(report.removed) removed")
            return .ok
        }
    }
}

private struct ExportJSON: Encodable {
    var directory: String
    var articles: Int
    var written: Int
    var unchanged: Int
    var removed: Int
}
