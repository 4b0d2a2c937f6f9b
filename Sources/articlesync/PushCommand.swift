import ArgumentParser
import ArticleModel
import ArticleSyncClient
import ArticleSyncProtocol
import Foundation

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload seed-format files as new or changed articles, or delete articles by id.",
        discussion: """
            A file's article id is its name without the extension; directories are walked recursively, \
            as `articlesyncd import` walks them (hidden entries skipped, links to directories not \
            followed). Every file is checked locally first: invalid ones are listed and not sent. Each article goes \
            with the revision the replica last saw of it (or last pushed, until a pull brings that in; \
            0 when unknown), and the server refuses it as a CONFLICT when someone changed it since: \
            `articlesync diff ID FILE --server-copy` shows what they changed; pull, merge and push again \
            (--force overwrites without looking). Conflicts are listed and exit with 3; invalid \
            files exit with 65; an id to delete that names no live article exits with 1.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "The arguments are article ids to delete.")
    var delete = false

    @Flag(name: .long, help: "Skip the conflict check: overwrite or delete whatever the server holds.")
    var force = false

    @Argument(help: ArgumentHelp("Files or directories to upload (with --delete: article ids).", valueName: "file-or-dir"))
    var paths: [String]

    func validate() throws {
        if paths.isEmpty { throw ValidationError(delete ? "give the ids of the articles to delete" : "give the files or directories to push") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            var items: [PushItem] = []
            var rejected: [RejectedFile] = []
            if delete {
                for id in paths {
                    if let problem = ArticleID.problem(with: id) {
                        rejected.append(RejectedFile(file: id, reason: problem))
                    } else {
                        items.append(PushItem(id: id, source: nil))
                    }
                }
            } else {
                (items, rejected) = Pusher.collect(paths: Self.filesRecursively(in: paths))
            }
            for file in rejected { console.note("invalid: \(file.file): \(file.reason)") }
            if items.isEmpty && rejected.isEmpty {
                console.say("nothing to push: \(paths.joined(separator: ", ")) holds no files (hidden ones are skipped)")
                console.emit(PushJSON(PushReport()))
                return .ok
            }
            var report = PushReport()
            if !items.isEmpty {
                let pusher = Pusher(configuration: try options.clientConfiguration(), replicaPath: options.replicaPath, force: force)
                report = try await pusher.push(items)
            }
            report.rejected = rejected
            for outcome in report.outcomes {
                let name = outcome.id
                switch outcome.status {
                case .applied:
                    console.say("\(outcome.isDelete ? "deleted" : "applied")    \(name)  (revision \(outcome.revision))")
                case .unchanged:
                    console.say("unchanged  \(name)  (revision \(outcome.revision))")
                case .conflict:
                    let expected = outcome.expectedRevision == 0 ? "expected no such article" : "expected revision \(outcome.expectedRevision)"
                    // Never a blind overwrite as the advice: the other edit would be lost unseen.
                    let look = outcome.file.map { "articlesync diff \(name) \($0) --server-copy" } ?? "articlesync diff \(name)"
                    console.say("CONFLICT   \(name): the server holds revision \(outcome.revision), the replica \(expected); see what changed with `\(look)`, then pull, merge and push again")
                case .invalid:
                    console.say("INVALID    \(name): \(outcome.message)")
                case .notFound:
                    console.say("not found  \(name): no live article with this id")
                }
            }
            console.emit(PushJSON(report))
            let count = { (status: PushResult.Status) in report.outcomes.count { $0.status == status } }
            let notSent = rejected.isEmpty ? "" : "; \(rejected.count) invalid here, not sent"
            if !items.isEmpty {
                console.say("pushed \(items.count): \(count(.applied)) applied, \(count(.unchanged)) unchanged, \(plural(count(.conflict), "conflict")), \(count(.invalid)) invalid, \(count(.notFound)) not found\(notSent); server head \(report.headRevision)")
            } else {
                console.say("pushed nothing\(notSent)")
            }
            if count(.conflict) > 0 { return .conflicts }
            if !rejected.isEmpty || count(.invalid) > 0 { return .dataError }
            // Nothing was deleted for it: a script must not read that as done.
            if count(.notFound) > 0 { return .failure }
            return .ok
        }
    }
}

extension PushCommand {
    /// Every file under the given paths, depth first with each folder's entries sorted, the order
    /// `articlesyncd import` uses. A path that does not exist is passed on for Pusher to report.
    static func filesRecursively(in paths: [String]) -> [String] {
        let manager = FileManager.default
        var files: [String] = []
        func walk(_ directory: String) {
            let names = ((try? manager.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { !$0.hasPrefix(".") }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for name in names {
                let path = (directory as NSString).appendingPathComponent(name)
                // attributesOfItem does not follow a link: a link to a folder is neither walked
                // (no loops) nor pushed.
                let type = (try? manager.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
                if type == .typeDirectory {
                    walk(path)
                } else if type == .typeRegular {
                    files.append(path)
                } else if type == .typeSymbolicLink {
                    var isDirectory: ObjCBool = false
                    if manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { files.append(path) }
                }
            }
        }
        for path in paths {
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                walk(path)
            } else {
                files.append(path)
            }
        }
        return files
    }
}

private struct PushJSON: Encodable {
    struct Outcome: Encodable {
        var id: String
        var file: String?
        var op: String
        var status: String
        var revision: UInt64
        var expectedRevision: UInt64
        var message: String
    }
    struct Rejected: Encodable {
        var file: String
        var reason: String
    }
    var headRevision: UInt64
    var results: [Outcome]
    var rejected: [Rejected]

    init(_ report: PushReport) {
        headRevision = report.headRevision
        results = report.outcomes.map {
            Outcome(
                id: $0.id, file: $0.file, op: $0.isDelete ? "delete" : "put", status: "\($0.status)", revision: $0.revision,
                expectedRevision: $0.expectedRevision, message: $0.message)
        }
        rejected = report.rejected.map { Rejected(file: $0.file, reason: $0.reason) }
    }
}
