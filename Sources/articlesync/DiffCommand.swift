import ArgumentParser
import ArticleStore
import ArticleSyncClient
import Foundation

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what differs between a local file and the replica's or the server's copy of an article.",
        discussion: """
            `articlesync diff ID FILE` compares FILE with the replica's copy (offline); with \
            --server-copy, with the server's current copy. `articlesync diff ID` compares the replica's copy with the \
            server's. The output is a unified diff (as `diff -u`), lines starting with - from the \
            first, + from the second. Before pushing over a CONFLICT, this shows what the other \
            side changed.

            The server's copy is read from a pull that applies nothing: the changes since the \
            replica's cursor are downloaded (from the start when there is no replica).

            Exit status, as diff(1)'s: 0 when the two are the same, 1 when they differ, 2 when they \
            could not be compared (no such article, no replica, an unreadable file); the server \
            unreachable (69) or refusing (77) and a replica that cannot be read (74) keep their codes \
            of `articlesync --help`.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The article's id (or a unique prefix of an id the replica holds).")
    var id: String

    @Argument(help: ArgumentHelp("A local file in the article format.", valueName: "file"))
    var file: String?

    @Flag(name: .long, help: "Compare FILE with the server's copy instead of the replica's.")
    var serverCopy = false

    func run() async throws {
        let console = options.console
        try await console.run(generalFailure: .diffTrouble) {
            let replicaPath = options.replicaPath
            // The replica's copy, and the full id a prefix names.
            var fullID = id
            var replicaCopy: StoredArticle? = nil
            if Replica.exists(at: replicaPath) {
                let store = try Replica.openExisting(at: replicaPath)
                defer { try? store.close() }
                if try await store.article(id: id) == nil, let resolved = try? await resolveArticleID(id, in: store, replicaPath: replicaPath) {
                    fullID = resolved
                }
                replicaCopy = try await store.article(id: fullID)
            } else if file != nil && !serverCopy {
                throw ClientError(.failure, "no replica at \(replicaPath) to compare with: pass --server-copy to compare with the server's copy, or pull first")
            }

            let replicaSide = Side(
                label: "replica \(fullID)" + (replicaCopy.map { " (revision \($0.revision))" } ?? " (none)"),
                bytes: replicaCopy?.article.source)
            var serverSide: Side? = nil
            if file == nil || serverCopy {
                let syncer = Syncer(configuration: try options.clientConfiguration(), replicaPath: replicaPath)
                switch try await syncer.serverCopy(of: fullID) {
                case .asReplica:
                    serverSide = Side(label: "server \(fullID)" + (replicaCopy.map { " (revision \($0.revision))" } ?? " (none)"), bytes: replicaCopy?.article.source)
                case .article(let source, let revision):
                    serverSide = Side(label: "server \(fullID) (revision \(revision))", bytes: source)
                case .deleted(let revision):
                    serverSide = Side(label: "server \(fullID) (" + (revision == 0 ? "none" : "deleted at revision \(revision)") + ")", bytes: nil)
                }
            }
            let old: Side
            let new: Side
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ClientError(.diffTrouble, "cannot read \(file): \(Self.whyUnreadable(file))")
                }
                old = serverCopy ? serverSide! : replicaSide
                new = Side(label: file, bytes: [UInt8](data))
            } else {
                old = replicaSide
                new = serverSide!
            }
            guard old.bytes != nil || new.bytes != nil else {
                throw ClientError(.failure, "neither \(old.label) nor \(new.label) holds the article \(fullID)")
            }
            let hunks = UnifiedDiff.hunks(old.bytes ?? [], new.bytes ?? [])
            let same = old.bytes == new.bytes
            console.emit(DiffJSON(id: fullID, from: old.label, to: new.label, identical: same, hunks: hunks ?? []))
            if same {
                console.note("no differences: \(old.label) and \(new.label) are the same")
                return .ok
            }
            console.say("--- \(old.label)")
            console.say("+++ \(new.label)")
            if let hunks {
                // An article on one side only is all removed or all added lines.
                for hunk in hunks { console.say(hunk) }
                if hunks.isEmpty { console.say("(the two differ only in their line endings or final line feed)") }
            } else {
                console.say("(the two differ; they are too long to compare line by line)")
            }
            return .failure
        }
    }

    /// Why `FileManager` could not read `path`, in the system's words.
    static func whyUnreadable(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return String(cString: strerror(errno)).lowercased() }
        close(descriptor)
        return "not a regular file"
    }

    struct Side {
        var label: String
        /// nil: no live article on this side.
        var bytes: [UInt8]?
    }
}

private struct DiffJSON: Encodable {
    var id: String
    var from: String
    var to: String
    var identical: Bool
    var hunks: [String]
}
