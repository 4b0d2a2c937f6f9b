import ArgumentParser
import ArticleStore
import ArticleSyncClient
import ArticleSyncReader
import Foundation

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read the replica in your browser: a small web app on 127.0.0.1 (offline).",
        discussion: """
            Serves the list (newest first, by category and date), the categories, full-text \
            search (the syntax of `search --help`) and the articles, with next/previous and \
            keys: j/→ older, k/← newer, / search. Articles added since your last visit are \
            marked "neu". It keeps serving while `pull --follow` updates the same replica: \
            reload to see new articles.

            Only this machine can connect (127.0.0.1), and only under the address printed at \
            start (127.0.0.1:PORT or localhost:PORT), which keeps other web sites from reading \
            it through DNS rebinding. Ctrl-C stops it.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Option(name: .long, parsing: .unconditional, help: "The port on 127.0.0.1 (0: any free port, printed at start).")
    var port: Int = 0

    @Flag(name: .long, help: "Open the address in the default browser (xdg-open, or open on macOS).")
    var open = false

    func validate() throws {
        if !(0...65_535).contains(port) { throw ValidationError("--port must be 0...65535 (0 picks a free port)") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            let store = try Replica.openExisting(at: options.replicaPath)
            defer { try? store.close() }
            if !store.fullTextIndex {
                console.note("this replica is a mirror, without a search index: lists and articles work, search does not (pull --no-mirror makes it a reading replica)")
            } else if try await store.isFullTextIndexPending() {
                console.note("building the search index first (after an upgrade, or a pull that stopped before it was built); this takes a while once…")
                try await store.buildFullTextIndex()
            }
            let server = ReaderServer(store: store, configuration: ReaderServer.Configuration(port: port))
            let open = self.open
            let replicaPath = options.replicaPath
            do {
                try await server.run { port in
                    let address = "http://127.0.0.1:\(port)/"
                    // The address is the one line on stdout, for scripts (an object with --json); the
                    // rest is for people.
                    if console.json {
                        console.emit(ListeningJSON(url: address))
                    } else {
                        Console.write(address + "\n", to: 1)
                    }
                    console.note("reading \(replicaPath) at \(address) (Ctrl-C stops)")
                    if open { Self.openBrowser(address, console: console) }
                }
            } catch let error as ReaderError {
                throw ClientError(.failure, error.description)
            }
            return .ok
        }
    }

    static func openBrowser(_ address: String, console: Console) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        #if os(macOS)
        process.arguments = ["open", address]
        #else
        process.arguments = ["xdg-open", address]
        #endif
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            console.note("could not open a browser (\(error.localizedDescription)): open \(address) yourself")
        }
    }
}

private struct ListeningJSON: Encodable {
    var event = "listening"
    var url: String
}
