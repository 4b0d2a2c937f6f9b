import ArgumentParser
import ArticleSyncClient

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the replica's store, cursor and article count, and how far behind the server it is.",
        discussion: "The server part is skipped when no server is configured. When the server cannot be reached, or the client or the server refuses the connection (a changed certificate, a missing token), the replica's part is still shown and the exit code says what failed (69, 77, …)."
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
                console.say("store:    \(status.storeID?.description ?? "none yet")")
                console.say("cursor:   revision \(status.cursor)")
                console.say("articles: \(status.articleCount)")
            } else {
                console.say("replica:  \(status.path) (does not exist yet: `articlesync pull` creates it)")
            }
            if let server = status.server {
                let address = try options.serverAddressIfConfigured().map { "\($0)" } ?? "server"
                if status.followsAnotherStore {
                    console.say("server:   \(address) holds another store (\(server.storeID)) at revision \(server.headRevision): the next pull re-bootstraps")
                } else if let behind = status.behind {
                    console.say("server:   \(address) at revision \(server.headRevision)" + (behind == 0 ? ", up to date" : ", \(behind) revisions ahead of the replica"))
                }
            } else if let error = status.serverError {
                console.say("server:   \(error)")
            } else {
                console.say("server:   not configured (--server or ARTICLESYNC_SERVER)")
            }
            // A script must not read "fine" from a status that could not talk to the server.
            return status.serverError == nil ? .ok : status.serverErrorStatus ?? .failure
        }
    }
}

private struct StatusJSON: Encodable {
    var replica: String
    var exists: Bool
    var store: String?
    var cursor: UInt64
    var articles: Int
    var serverStore: String?
    var serverHead: UInt64?
    var behind: UInt64?
    var serverError: String?

    init(_ status: ReplicaStatus) {
        replica = status.path
        exists = status.exists
        store = status.storeID?.description
        cursor = status.cursor
        articles = status.articleCount
        serverStore = status.server?.storeID.description
        serverHead = status.server?.headRevision
        behind = status.behind
        serverError = status.serverError
    }
}
