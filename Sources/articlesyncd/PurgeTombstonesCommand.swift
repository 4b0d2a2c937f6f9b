import ArgumentParser
import ArticleStore
import Foundation

/// `articlesyncd purge-tombstones`: forgets old deletions and raises the horizon (PROTOCOL.md §7.5).
struct PurgeTombstonesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge-tombstones",
        abstract: "Forget deletions older than a revision, to keep the store small.",
        discussion: """
            Removes the tombstones (records of deleted articles) whose revision is below REVISION \
            and raises the store's horizon to REVISION - 1. Clients whose cursor is at least the new \
            horizon keep resuming; older ones are told to bootstrap again (SNAPSHOT_REQUIRED, \
            BELOW_HORIZON). Safe while the server runs: a pull that still had a purged deletion to \
            send ends in BELOW_HORIZON too, and its client bootstraps again.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The server's store file.", valueName: "path"))
    var store: String

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Purge tombstones with a revision below this one.", valueName: "revision"))
    var olderThan: UInt64

    func validate() throws {
        guard olderThan >= 1 else { throw ValidationError("--older-than must be a revision of at least 1") }
    }

    func run() async throws {
        guard FileManager.default.fileExists(atPath: store) else {
            throw CommandFailure("there is no store at \(store)")
        }
        let articleStore: SQLiteCanonicalStore
        do {
            articleStore = try SQLiteCanonicalStore(path: store)
        } catch {
            throw CommandFailure("\(error)")
        }
        defer { try? articleStore.close() }
        let snapshot = try await articleStore.snapshot()
        let upTo = olderThan - 1
        guard upTo <= snapshot.head else {
            throw CommandFailure("revision \(olderThan) is beyond the store's head \(snapshot.head); nothing that old exists")
        }
        guard upTo > snapshot.horizon else {
            print("nothing to purge: the horizon is already \(snapshot.horizon)")
            return
        }
        let purged = try await articleStore.purgeTombstones(upTo: upTo)
        print("purged \(purged) tombstones; the horizon is now \(upTo)")
    }
}
