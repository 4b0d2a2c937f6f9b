import ArgumentParser
import ArticleStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `articlesyncd import`: imports seed-format files into the canonical store (issue 3).
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import seed-format article files into a store.",
        discussion: """
            Each file becomes the article whose id is the file name without its extension; \
            directories are walked recursively in sorted order (hidden entries skipped). A file \
            whose content is unchanged takes no revision, so importing again is cheap and harmless. \
            Files that are not in the seed format are reported with path, line and reason and not \
            imported; the rest of the import goes on, and the exit status is 2. A symbolic link to a \
            file outside the folder being imported is not followed (whoever may write the folder \
            could publish any file the server can read): it is reported, and the status is 2.

            --delete-missing refuses, before importing anything (exit status 5), a walk that finds \
            no file at all (a mistyped path or an unmounted share looks like an empty folder) and one \
            that would delete more than --max-delete-percent of the store's articles, naming the \
            count and the first ids. --force accepts either.

            -n/--dry-run reads, parses and hashes every file as the import would and lists what it \
            would add (+ id title), change (~ id title) and, with --delete-missing, delete (- id), \
            then a summary; the store is not written (nor created). -v/--itemize lists the same \
            lines for a real import. With --json the plan (or the report) has an "items" array.

            Progress goes to standard error when it is a terminal (or always with --progress); the \
            summary goes to standard output.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The store file (SQLite); created when missing.", valueName: "path"))
    var store: String

    @Argument(help: ArgumentHelp("Seed files or directories to import.", valueName: "file-or-dir"))
    var paths: [String]

    @Flag(name: .long, help: "Turn articles whose file is gone into deletions (mirror the given directories).")
    var deleteMissing = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("--delete-missing deletes at most this share of the store's articles.", valueName: "percent"))
    var maxDeletePercent: Double = 10

    @Flag(name: .long, help: "--delete-missing: delete even more than --max-delete-percent, or everything when no file was found.")
    var force = false

    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false

    @Flag(name: .long, help: "Report progress on standard error even when it is not a terminal (one line per step).")
    var progress = false

    @Flag(name: [.customShort("n"), .long], help: "Show what the import would add, change and delete, and change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("v"), .long], help: "List each article the import adds (+), changes (~) or deletes (-).")
    var itemize = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one file or directory to import") }
        guard (0...100).contains(maxDeletePercent) else { throw ValidationError("--max-delete-percent must be between 0 and 100") }
    }

    func run() async throws {
        if dryRun { return try await runDryRun() }
        let articleStore: SQLiteCanonicalStore
        do {
            articleStore = try SQLiteCanonicalStore(path: store)
        } catch {
            throw CommandFailure("\(error)")
        }
        defer { try? articleStore.close() }

        let started = ContinuousClock.now
        let terminal = isatty(STDERR_FILENO) == 1
        let reporter: (@Sendable (ImportProgress) -> Void)?
        if terminal || progress {
            reporter = { step in
                let seconds = max(0.001, Self.seconds(since: started))
                let rate = Int(Double(step.files) / seconds)
                let text = "\(step.files) files: \(step.added) added, \(step.updated) updated, "
                    + "\(step.unchanged) unchanged, \(step.refused) refused (\(rate) files/s)"
                FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + text : "progress: " + text + "\n").utf8))
            }
        } else {
            reporter = nil
        }

        let report: ImportReport
        do {
            var options = ImportOptions(deleteMissing: deleteMissing, maxDeleteFraction: maxDeletePercent / 100, force: force)
            options.itemize = itemize
            report = try await articleStore.importFiles(paths, options: options, progress: reporter)
        } catch let refusal as ImportRefusal {
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            FileHandle.standardError.write(Data("articlesyncd: \(refusal)\n".utf8))
            printFailure("\(refusal)", exitCode: 5)
            throw ExitCode(5)
        } catch {
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            printFailure("the import stopped: \(error)", exitCode: 1)
            throw CommandFailure("the import stopped: \(error)")
        }
        if terminal && reporter != nil { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let seconds = Self.seconds(since: started)

        if json {
            struct Output: Encodable {
                var store: String
                var seconds: Double
                var report: ImportReport
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(Output(store: store, seconds: (seconds * 1000).rounded() / 1000, report: report))
            print(String(decoding: data, as: UTF8.self))
        } else {
            for item in report.items { print(Self.line(item)) }
            for error in report.errors {
                FileHandle.standardError.write(Data("refused \(error)\n".utf8))
            }
            for skipped in report.skipped {
                FileHandle.standardError.write(Data("skipped \(skipped)\n".utf8))
            }
            var summary = "imported \(report.files == 1 ? "1 file" : "\(report.files) files") into \(store) in \(String(format: "%.2f", seconds)) s: "
                + "\(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, \(report.refused) refused"
                + (report.skipped.isEmpty ? "" : ", \(report.skipped.count) symbolic links skipped")
            if deleteMissing { summary += ", \(report.deleted) deleted" }
            summary += " (head revision \(report.head))"
            print(summary)
            if let skipped = report.deletionSkipped {
                FileHandle.standardError.write(Data("\(skipped)\n".utf8))
            }
        }
        if report.refused > 0 || !report.skipped.isEmpty || report.deletionSkipped != nil {
            throw ExitCode(2)
        }
    }

    /// With --json, a failure is a JSON object on stdout too, so a script reading stdout learns why.
    private func printFailure(_ message: String, exitCode: Int32) {
        guard json else { return }
        struct Failure: Encodable {
            var error: String
            var exitCode: Int32
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(Failure(error: message, exitCode: exitCode)) { print(String(decoding: data, as: UTF8.self)) }
    }

    /// The plan of the import, nothing written: see `Importer.plan`.
    private func runDryRun() async throws {
        guard FileManager.default.fileExists(atPath: store) else {
            throw CommandFailure("no store at \(store): a dry run compares with an existing store (without --dry-run, the import creates it and adds every file)")
        }
        let options = ImportOptions(deleteMissing: deleteMissing, maxDeleteFraction: maxDeletePercent / 100, force: force)
        let plan: ImportPlan
        do {
            plan = try Importer.plan(storeAt: store, paths: paths, options: options)
        } catch {
            throw CommandFailure("the dry run stopped: \(error)")
        }
        let summary = plan.items.isEmpty
            ? "nothing would change"
            : "would add \(plan.count(.added)), change \(plan.count(.changed)), delete \(plan.count(.deleted))"
        if json {
            struct Item: Encodable {
                var change: String
                var id: String
                var title: String?
                var path: String?
            }
            struct Output: Encodable {
                var store: String
                var dryRun = true
                var files: Int
                var added: Int
                var changed: Int
                var deleted: Int
                var unchanged: Int
                var refused: Int
                var refusal: String?
                var items: [Item]
            }
            let output = Output(
                store: store, files: plan.files, added: plan.count(.added), changed: plan.count(.changed), deleted: plan.count(.deleted),
                unchanged: plan.unchanged, refused: plan.errors.count, refusal: plan.refusal ?? plan.deletionSkipped,
                items: plan.items.map { Item(change: $0.kind.rawValue, id: $0.id, title: $0.title, path: $0.path) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        } else {
            for item in plan.items { print(Self.line(item)) }
            for error in plan.errors { FileHandle.standardError.write(Data("refused \(error)\n".utf8)) }
            for skipped in plan.skipped { FileHandle.standardError.write(Data("skipped \(skipped)\n".utf8)) }
            print("dry run: \(plan.files) files, \(summary), \(plan.unchanged) unchanged, \(plan.errors.count) refused; nothing was changed in \(store)")
            if let note = plan.refusal ?? plan.deletionSkipped { FileHandle.standardError.write(Data("\(note)\n".utf8)) }
        }
        if !plan.errors.isEmpty || !plan.skipped.isEmpty || plan.deletionSkipped != nil { throw ExitCode(2) }
    }

    /// `+ id title`, `~ id title`, `- id`, with control characters escaped (titles come from files).
    static func line(_ item: ImportPlanItem) -> String {
        let marker = switch item.kind {
        case .added: "+"
        case .changed: "~"
        case .deleted: "-"
        }
        let text = [marker, item.id] + (item.kind == .deleted ? [] : [item.title ?? ""])
        return text.map(escaped).joined(separator: " ")
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
