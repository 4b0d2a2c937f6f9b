import ArgumentParser
import ArticleSyncClient

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that the replica is exactly the server's store as of the replica's cursor.",
        discussion: """
            Compares the article count and the store digest (PROTOCOL.md §7.6) with the server's at \
            the replica's revision. Prints "exact", or what differs and exits with 4.

            --deep first reads every article back from the bytes the replica holds (inflating a \
            mirror's documents), checks each against its SHA-256 content hash, and recomputes the \
            count and the digest from the rows; those are compared with the server's, and every \
            article whose bytes changed is named. Without it, verify compares the count and digest \
            the replica keeps current as it applies batches: instant, but blind to bytes that \
            changed later (bit rot, a bad restore, an edited file).

            A mirror's verify is deep unless --no-deep: a mirror is the copy you restore from on the \
            bad day, so its check must read the bytes, and that takes seconds (about 2.5 s per 100,000 \
            articles on two cores). A reading replica's verify is shallow unless --deep: it is \
            rebuilt from the server in minutes, and its text is checked as it is shown.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Flag(
        inversion: .prefixedNo,
        help: "Re-hash every article and recompute the digest from the rows (default: yes for a mirror, no for a reading replica).")
    var deep: Bool? = nil

    func run() async throws {
        let console = options.console
        try await console.run {
            let path = options.replicaPath
            let isMirror = Replica.exists(at: path) ? !(try Replica.hasFullTextIndex(at: path)) : false
            let deep = self.deep ?? isMirror
            let progress = ProgressBar(enabled: deep && !console.quiet && !console.json && Console.stderrIsTerminal)
            progress.start(label: "reading every article back", from: 0, to: 1, unit: "articles checked")
            let verifier = Verifier(
                configuration: try options.clientConfiguration(), replicaPath: path, deep: deep,
                progress: { done, total in
                    if done == 0 { progress.start(label: "reading every article back", from: 0, to: UInt64(total), unit: "articles checked") }
                    progress.advance(toRevision: UInt64(done), articles: 0, bytes: 0)
                })
            let report: VerifyReport
            do {
                report = try await verifier.verify()
            } catch {
                progress.finish()
                throw error
            }
            progress.finish()
            console.emit(VerifyJSON(
                exact: report.isExact, deep: report.deep, revision: report.cursor, articles: report.localCount,
                digest: report.localDigest.description,
                serverArticles: report.server.status == .ok ? report.server.articleCount : nil,
                serverDigest: report.server.status == .ok ? report.server.digest.description : nil,
                damaged: report.damaged.map { DamagedJSON(id: $0.id, reason: $0.reason) },
                differences: report.differences))
            let how = report.deep ? "read back and " : ""
            if report.isExact {
                console.say("exact: \(plural(Int(report.localCount), "article")) at revision \(report.cursor) \(how)\(report.localCount == 1 ? "matches" : "match") the server (digest \(report.localDigest.description.prefix(16))…)")
                return .ok
            }
            console.say("MISMATCH at revision \(report.cursor):")
            for difference in report.differences { console.say("  - \(difference)") }
            return .verifyMismatch
        }
    }
}

private struct VerifyJSON: Encodable {
    var exact: Bool
    var deep: Bool
    var revision: UInt64
    var articles: UInt64
    var digest: String
    var serverArticles: UInt64?
    var serverDigest: String?
    var damaged: [DamagedJSON]
    var differences: [String]
}

private struct DamagedJSON: Encodable {
    var id: String
    var reason: String
}
