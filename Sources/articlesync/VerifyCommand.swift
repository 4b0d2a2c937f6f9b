import ArgumentParser
import ArticleSyncClient

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that the replica is exactly the server's store as of the replica's cursor.",
        discussion: "Compares the article count and the store digest (PROTOCOL.md §7.6). Prints \"exact\", or what differs and exits with 4."
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let console = options.console
        try await console.run {
            let verifier = Verifier(configuration: try options.clientConfiguration(), replicaPath: options.replicaPath)
            let report = try await verifier.verify()
            console.emit(VerifyJSON(
                exact: report.isExact, revision: report.cursor, articles: report.localCount, digest: report.localDigest.description,
                serverArticles: report.server.status == .ok ? report.server.articleCount : nil,
                serverDigest: report.server.status == .ok ? report.server.digest.description : nil,
                differences: report.differences))
            if report.isExact {
                console.say("exact: \(plural(Int(report.localCount), "article")) at revision \(report.cursor) \(report.localCount == 1 ? "matches" : "match") the server (digest \(report.localDigest.description.prefix(16))…)")
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
    var revision: UInt64
    var articles: UInt64
    var digest: String
    var serverArticles: UInt64?
    var serverDigest: String?
    var differences: [String]
}
