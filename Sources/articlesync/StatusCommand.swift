import ArgumentParser
import ArticleStore
import ArticleSyncClient
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the replica (kind, size, cursor, articles, last successful pull) and how far behind the server it is.",
        discussion: """
            The last successful pull is the last one that reached the server's head; the replica \
            records it, so a mirror left to a timer can be checked here (or with --json). The server's \
            lead is shown in revisions and, up to \(StatusReporter.countLimit) revisions, in articles: \
            the changes' ids are read (not their text) to count the articles to fetch and to delete.

            The server part is skipped when no server is configured. When the server cannot be \
            reached, or the client or the server refuses the connection (a changed certificate, a \
            missing token), the replica's part is still shown and the exit code says what failed (69, \
            77, …).
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let console = options.console
        try await console.run {
            let status = try await StatusReporter.status(
                replicaPath: options.replicaPath, configuration: try options.clientConfigurationIfConfigured())
            console.emit(StatusJSON(status))
            if status.exists {
                console.say("replica:  \(status.path)")
                console.say("kind:     \(status.isMirror == true ? "mirror (compressed as sent, no search index)" : "reading (text and search index)")")
                console.say("size:     \(formatBytes(Int(status.sizeOnDisk))) on disk")
                console.say("store:    \(status.storeID?.description ?? "none yet")")
                console.say("cursor:   revision \(status.cursor)")
                console.say("articles: \(status.articleCount)")
                if let pull = status.lastPull {
                    console.say("last pull: \(Self.describe(pull))")
                } else {
                    console.say("last pull: none recorded (no pull into this replica has reached the server's head yet)")
                }
                if let stage = status.stage {
                    console.say(
                        "staged:   a pull stopped before it was applied: \(plural(stage.changes, "change")) up to revision \(stage.cursor) downloaded beside the replica; `articlesync pull` resumes it (after a refusal by the deletion guard, `pull --force` applies it)")
                }
            } else {
                console.say("replica:  \(status.path) (does not exist yet: `articlesync pull` creates it)")
            }
            if let server = status.server {
                let address = try options.serverAddressIfConfigured().map { "\($0)" } ?? "server"
                let count = status.serverArticleCount.map { ", \($0) articles" } ?? ""
                if status.followsAnotherStore {
                    console.say(
                        "server:   \(address) holds another store (\(server.storeID)) at revision \(server.headRevision)\(count): the next pull would replace this replica's articles with that store's (see `articlesync pull --help`)")
                } else if let behind = status.behind {
                    var lead = behind == 0 ? "up to date" : "\(behind) revisions ahead of the replica (at most \(behind) articles to fetch)"
                    if let pending = status.pending, behind > 0 {
                        lead = "\(behind) revisions ahead of the replica: \(plural(pending.new + pending.changed, "article")) to fetch (\(pending.new) new, \(pending.changed) changed) and \(pending.deleted) to delete"
                    }
                    console.say("server:   \(address) at revision \(server.headRevision)\(count), \(lead)")
                }
            } else if let error = status.serverError {
                console.say("server:   \(error)")
            } else {
                console.say("server:   not configured (--server, ARTICLESYNC_SERVER or `server` in the config file)")
            }
            // A script must not read "fine" from a status that could not talk to the server.
            return status.serverError == nil ? .ok : status.serverErrorStatus ?? .failure
        }
    }

    static func describe(_ pull: PullRecord) -> String {
        let date = Date(timeIntervalSince1970: pull.finishedAt)
        let ago = max(0, Date().timeIntervalSince(date))
        var outcome: String
        if let removed = pull.rebootstrapRemoved {
            outcome = "re-bootstrapped (\(removed) removed), up to revision \(pull.revision)"
        } else if pull.applied == 0 && pull.deleted == 0 {
            outcome = "already up to date at revision \(pull.revision)"
        } else {
            outcome = "\(pull.applied) articles and \(pull.deleted) deletions, up to revision \(pull.revision)"
        }
        outcome += " from \(pull.server)"
        return "\(timestamp(date)) (\(agoText(ago)) ago): \(outcome)"
    }

    /// Local time with its offset, e.g. 2025-04-10 21:17:03 +0200.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss Z"
        return formatter.string(from: date)
    }

    static func agoText(_ seconds: Double) -> String {
        let whole = Int(seconds)
        if whole < 120 { return "\(whole) s" }
        if whole < 7200 { return "\(whole / 60) min" }
        if whole < 172_800 { return "\(whole / 3600) h" }
        return "\(whole / 86400) days"
    }
}

private struct StatusJSON: Encodable {
    struct LastPull: Encodable {
        /// ISO 8601, UTC.
        var finishedAt: String
        var finishedAtUnix: Double
        var server: String
        var revision: UInt64
        var applied: Int
        var deleted: Int
        var rebootstrapRemoved: Int?
    }

    var replica: String
    var exists: Bool
    var kind: String?
    var sizeBytes: Int64
    var store: String?
    var cursor: UInt64
    var articles: Int
    var lastPull: LastPull?
    /// A pull downloaded but not applied: the revision it reached and its changes.
    var stagedRevision: UInt64?
    var stagedChanges: Int?
    var serverStore: String?
    var serverHead: UInt64?
    var serverArticles: UInt64?
    /// Revisions the server is ahead: at most this many articles to fetch.
    var behind: UInt64?
    /// Counted from the changes themselves (when at most `countLimit` revisions behind).
    var toFetch: Int?
    var toDelete: Int?
    var serverError: String?

    init(_ status: ReplicaStatus) {
        replica = status.path
        exists = status.exists
        kind = status.isMirror.map { $0 ? "mirror" : "reading" }
        sizeBytes = status.sizeOnDisk
        store = status.storeID?.description
        cursor = status.cursor
        articles = status.articleCount
        lastPull = status.lastPull.map {
            LastPull(
                finishedAt: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0.finishedAt)),
                finishedAtUnix: $0.finishedAt, server: $0.server, revision: $0.revision, applied: $0.applied,
                deleted: $0.deleted, rebootstrapRemoved: $0.rebootstrapRemoved)
        }
        stagedRevision = status.stage?.cursor
        stagedChanges = status.stage?.changes
        serverStore = status.server?.storeID.description
        serverHead = status.server?.headRevision
        serverArticles = status.serverArticleCount
        behind = status.behind
        toFetch = status.pending.map { $0.new + $0.changed }
        toDelete = status.pending?.deleted
        serverError = status.serverError
    }
}
