import ArgumentParser
import ArticleStore
import ArticleSyncProtocol
import ArticleSyncServer
import Foundation
import Logging
import ServiceLifecycle

/// `articlesyncd serve`: opens (or creates) the store, imports the given folders, then serves until
/// SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a store to articlesync clients.",
        discussion: """
            Creates the store when it does not exist, imports every --import folder into it, then \
            listens. One server serves a store: a second `serve` on the same store refuses to start \
            (the lock is the file STORE.lock beside it); `articlesyncd import` into a served store \
            works, and the server's clients see the import's changes. Once listening it prints exactly one line to standard output, \
            `listening on HOST:PORT` (with the port chosen when --port is 0); everything else is \
            logged to standard error.

            Without access tokens the server lets clients on loopback read (pull, verify); \
            --anonymous-write lets them push too, which is meant for tests and development only.

            SIGTERM or SIGINT stops it gracefully: no new connections, idle clients get \
            SHUTTING_DOWN, running responses get --shutdown-grace seconds to finish, the store is \
            closed. Each closed connection is logged at info level as \
            `connection closed peer=IP:PORT bytesIn=N bytesOut=N requests=N durationMs=N`; the \
            server-wide totals are logged on exit and written as JSON to --stats-file.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The store file (SQLite); created when missing.", valueName: "path"))
    var store: String

    @Option(name: .long, help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, parsing: .unconditional, help: "The TCP port; 0 picks a free one.")
    var port: Int = ProtocolLimits.defaultPort

    @Option(name: [.customLong("import")], help: ArgumentHelp("A folder of seed-format articles to import before listening (repeatable).", valueName: "dir"))
    var importFolders: [String] = []

    @OptionGroup(title: "Limits")
    var limits: ServerLimitOptions

    @OptionGroup(title: "Security")
    var security: ServerSecurityOptions

    @Flag(name: .long, help: "Let clients on loopback push without a token (tests and development only).")
    var anonymousWrite = false

    @Option(name: .long, help: ArgumentHelp("Write the server-wide totals (connections, requests, bytes in and out) as JSON to this file on exit.", valueName: "path"))
    var statsFile: String?

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics at http://ADDRESS/metrics: PORT (on 127.0.0.1) or HOST:PORT. Off unless given.", valueName: "address"))
    var metricsAddress: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let metricsAddress {
            guard let metrics = MetricsAddress(parsing: metricsAddress) else {
                throw ValidationError("--metrics-address must be PORT (on 127.0.0.1) or HOST:PORT, not '\(metricsAddress)'")
            }
            if metrics.port != 0 && metrics.port == port {
                throw ValidationError("--metrics-address and --port both name port \(port): the metrics need a port of their own")
            }
        }
        try limits.validate()
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "articlesyncd")
        let applySecurity = try security.prepare(host: host, anonymousWrite: anonymousWrite, logger: logger)
        for folder in importFolders where !FileManager.default.fileExists(atPath: folder) {
            throw CommandFailure("cannot import \(folder): no such file or directory")
        }
        let metrics = metricsAddress.flatMap(MetricsAddress.init(parsing:))
        var listeners = [ListenFailure.Listener(host: host, port: port, flag: "--port")]
        if let metrics { listeners.append(ListenFailure.Listener(host: metrics.host, port: metrics.port, flag: "--metrics-address")) }
        try await ListenFailure.probe(listeners)

        // One server per store, claimed before the store is opened or imported into; held until exit.
        let lock: StoreLock
        let store: SQLiteCanonicalStore
        do {
            lock = try StoreLock(storeAt: self.store)
            store = try SQLiteCanonicalStore(path: self.store)
        } catch {
            throw CommandFailure("\(error)")
        }
        defer {
            try? store.close()
            lock.release()
        }

        if !importFolders.isEmpty {
            try await importFolders(into: store, logger: logger)
        }

        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        applySecurity(&configuration)
        limits.apply(to: &configuration)
        configuration.metricsAddress = metrics

        let server = try await ArticleSyncServer(configuration: configuration, store: store, logger: logger) { address in
            // The one line a script waits for, written unbuffered: stdout is often a pipe.
            FileHandle.standardOutput.write(Data("listening on \(address.loggable)\n".utf8))
        }
        let group = ServiceGroup(configuration: .init(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await ListenFailure.explained(listeners[0]) { try await group.run() }

        if let statsFile {
            try writeStatistics(server.statistics.snapshot(), to: statsFile)
        }
    }

    /// Imports before listening, so the first client already sees the folders' articles. Files that
    /// are not in the seed format are logged and skipped; the server starts all the same.
    private func importFolders(into store: SQLiteCanonicalStore, logger: Logger) async throws {
        let started = ContinuousClock.now
        let report: ImportReport
        do {
            report = try await store.importFiles(importFolders, options: ImportOptions(), progress: nil)
        } catch {
            throw CommandFailure("the import of \(importFolders.joined(separator: ", ")) stopped: \(error)")
        }
        for error in report.errors {
            logger.warning("not imported: \(error)")
        }
        let elapsed = ContinuousClock.now - started
        logger.info("imported", metadata: [
            "files": "\(report.files)", "added": "\(report.added)", "updated": "\(report.updated)",
            "unchanged": "\(report.unchanged)", "refused": "\(report.refused)", "head": "\(report.head)",
            "seconds": "\(String(format: "%.2f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))",
        ])
    }

    private func writeStatistics(_ snapshot: ServerStatistics.Snapshot, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(snapshot).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure("cannot write the statistics to \(path): \(error.localizedDescription)")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
