import ArgumentParser
import ArticleSyncClient
import ArticleSyncProtocol

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull every change since the replica's cursor (creates the replica on first use).",
        discussion: """
            Each batch is applied together with the cursor in one transaction: interrupt the pull at \
            any moment and the next one resumes where it stopped. One pull at a time writes a \
            replica: a second (a timer's while --follow runs) is refused at once, naming the first \
            (lock file REPLICA.lock).

            MASS-DELETION GUARD: a pull that would delete more than --max-delete-percent of the \
            replica's articles (a server that lost its files, or sends a tombstone for each) stops \
            before applying anything, exits with 5 and names the count and the first ids; the \
            replica is unchanged. A replica that holds articles downloads each pull beside itself \
            first, so the guard sees every deletion before anything is applied; the downloaded pull \
            is kept, and `pull --force` applies it without downloading it again. When the server \
            cannot resume the replica (its store was recreated, or the replica is older than its \
            horizon), the replica is rebuilt beside the old one and swapped in, under the same guard; \
            -v then lists how the swap changes the replica (+, ~, -), not what the copy received.

            --keep-deleted DAYS keeps what pulls delete, the way rsync's --backup-dir does: the \
            articles leave the replica's live set (verify, list, search, export) but stay in the \
            file, listed by `list --deleted` and written back by `export --deleted DIR`; each pull \
            with --keep-deleted forgets those deleted more than DAYS days ago. Pass it on every pull \
            (a pull without it deletes for good, and leaves the kept ones alone).

            With --json, pull prints one JSON object per line: {"event":"batch",…} per committed batch \
            (and {"event":"change",…} per article with --follow), then {"event":"done",…}.

            -n/--dry-run downloads what the pull would apply, checks it as a pull does, and lists \
            what it would add (+ id title), change (~ id title) and delete (- id), then a summary; \
            nothing is written (not even a replica that does not exist yet). -v/--itemize lists \
            the same lines for a real pull, as it applies them. With --json each line is an \
            {"event":"item","change":"added"|"changed"|"deleted",…} object, and a dry run ends \
            with {"event":"dryRun",…}.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Stay connected and apply new revisions as they land; reconnect when the server goes away.")
    var follow = false

    @Flag(name: .long, help: "Apply the pull (or the re-bootstrap) even if it deletes more than --max-delete-percent of the replica's articles.")
    var force = false

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp("Keep the articles this pull deletes, readable (`list --deleted`, `export --deleted`), for this many days.", valueName: "days"))
    var keepDeleted: Int? = nil

    @Flag(
        inversion: .prefixedNo,
        help: "Keep a mirror replica: articles stay compressed as sent, no full-text index (faster, a third of the size; no `search`), or with --no-mirror a reading replica with it. Default: a new replica reads, an existing one stays what it is.")
    var mirror: Bool? = nil

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("The mass-deletion guard's limit, in percent of the replica's articles.", valueName: "percent"))
    var maxDeletePercent: Double = 10

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Target batch size in bytes (0 = the server's default).", valueName: "bytes"))
    var budget: UInt32 = SyncOptions.defaultBudget

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("--follow: how long each long-poll waits on the server, in seconds.", valueName: "seconds"))
    var wait: Int = 30

    @Flag(name: [.customShort("n"), .long], help: "Show what the pull would add, change and delete, and change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("v"), .long], help: "List each article the pull adds (+), changes (~) or deletes (-).")
    var itemize = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "After the pull, bring this plain-file tree in step with the replica (see `export --help`; default: `files` in the config file).",
            valueName: "dir"))
    var files: String? = nil

    @Option(name: .long, help: ArgumentHelp("The file tree's layout: flat, shard, date or source (see `export --help`).", valueName: "layout"))
    var layout: FileTreeLayout? = nil

    func validate() throws {
        guard (0...100).contains(maxDeletePercent) else { throw ValidationError("--max-delete-percent must be between 0 and 100") }
        guard (1...300).contains(wait) else { throw ValidationError("--wait must be between 1 and 300 seconds") }
        if let keepDeleted, !(1...36_500).contains(keepDeleted) { throw ValidationError("--keep-deleted must be between 1 and 36500 days") }
        if follow && files != nil { throw ValidationError("--files updates the tree after one pull; with --follow, run `articlesync export DIR` from a timer instead") }
        if dryRun && follow { throw ValidationError("--dry-run shows one pull; it cannot --follow") }
    }

    func run() async throws {
        let console = options.console
        try await console.run {
            var syncOptions = SyncOptions()
            syncOptions.budget = budget
            syncOptions.fullTextIndex = (mirror ?? options.configuredMirror).map { !$0 }
            syncOptions.force = force
            syncOptions.deletionGuardFraction = maxDeletePercent / 100
            syncOptions.keepDeletedDays = keepDeleted
            syncOptions.followWaitMillis = UInt32(wait * 1000)
            let progress = ProgressBar(enabled: !follow && !console.quiet && !console.json && Console.stderrIsTerminal)
            syncOptions.countArticlesFirst = progress.enabled && !dryRun
            syncOptions.listsRebootstrapDifferences = itemize || follow
            let printer = PullPrinter(console: console, progress: progress, follow: follow, keepDeleted: keepDeleted, itemize: itemize && !follow)
            PullInterruption.install(progress: progress, command: follow ? "articlesync pull --follow" : "articlesync pull")
            let syncer = Syncer(
                configuration: try options.clientConfiguration(), replicaPath: options.replicaPath,
                options: syncOptions,
                onEvent: { [dryRun] event in
                    // A dry run commits nothing: Ctrl-C says the replica is unchanged.
                    if !dryRun { PullInterruption.observe(event) }
                    printer.handle(event)
                })
            if dryRun {
                let report: DryRunReport
                do {
                    report = try await syncer.dryRun()
                } catch {
                    progress.finish()
                    throw error
                }
                progress.finish()
                try printer.summarize(report)
                return .ok
            }
            if follow {
                console.say("following \(syncer.configuration.address) into \(options.replicaPath) (Ctrl-C to stop)")
                try await syncer.follow()
                return .ok
            }
            let report: PullReport
            do {
                report = try await syncer.pull()
            } catch let error as ClientError where error.status == .unavailable && PullInterruption.hasCommitted {
                // Batches committed before the connection went: say that they are kept.
                progress.finish()
                throw ClientError(error.status, error.message + "; " + PullInterruption.message(resumedBy: "articlesync pull"))
            } catch {
                progress.finish()
                throw error
            }
            progress.finish()
            printer.summarize(report)
            return try await updateFiles(console)
        }
    }

    /// `--files DIR` (or `files` in the config file): the tree follows the replica, deletions too.
    private func updateFiles(_ console: Console) async throws -> ExitStatus {
        let settings = try? options.settings()
        guard let directory = files ?? settings?.files?.value else { return .ok }
        let layout = FileTreePrinter.layout(flag: self.layout, configured: settings?.layout?.value, directory: directory)
        // -v already listed the pull's changes, which are the tree's.
        let tree = FileTree(replicaPath: options.replicaPath, directory: directory, layout: layout, deleteStale: true)
        let printer = FileTreePrinter(console: console, itemize: false, dryRun: false)
        let report = try await printer.run(tree, label: "writing files")
        console.emit(printer.json(report, directory: directory, layout: layout))
        console.say(printer.summary(report, directory: directory, layout: layout))
        return report.failures.isEmpty ? .ok : .ioError
    }
}

/// Turns sync events into progress, lines for people, or JSON lines.
struct PullPrinter: Sendable {
    var console: Console
    var progress: ProgressBar
    var follow: Bool
    /// --keep-deleted DAYS, for the summary.
    var keepDeleted: Int? = nil
    /// -v/--itemize: a line per applied change.
    var itemize = false

    func handle(_ event: SyncEvent) {
        switch event {
        case .connected:
            break
        case .pulling(let from, let head, let rebootstrap, let articles, let indexAfter):
            progress.start(
                label: rebootstrap ? "re-bootstrapping" : "pulling", from: from, to: head, expectedArticles: articles.map { Int(clamping: $0) },
                indexAfter: indexAfter)
        case .batchApplied(let batch):
            progress.advance(toRevision: batch.toRevision, articles: batch.changes.count, bytes: batch.bytes)
            console.emit(BatchJSON(from: batch.fromRevision, to: batch.toRevision, changes: batch.changes.count, bytes: batch.bytes))
            if itemize && !batch.rebuilding {
                for change in batch.changes {
                    guard let line = change.item else { continue }
                    progress.finish()
                    item(line, revision: change.revision)
                }
            }
            if follow && !batch.rebuilding {
                for change in batch.changes {
                    switch change.kind {
                    case .put(let title):
                        console.say("r\(change.revision)  \(change.arrival == .changed ? "changed" : "added")  \(change.id)  \(title)")
                        console.emit(ChangeJSON(revision: change.revision, id: change.id, op: "put", title: title))
                    case .delete:
                        console.say("r\(change.revision)  deleted  \(change.id)")
                        console.emit(ChangeJSON(revision: change.revision, id: change.id, op: "delete", title: nil))
                    }
                }
            }
        case .caughtUp(let head):
            if follow { console.emit(CaughtUpJSON(revision: head)) }
        case .snapshotRequired(let snapshot):
            progress.finish()
            console.note("server: \(snapshot.message.isEmpty ? "snapshot required" : snapshot.message); re-bootstrapping the replica")
            console.emit(SnapshotJSON(reason: "\(snapshot.reason)", message: snapshot.message))
        case .rebootstrapDifference(let change):
            progress.finish()
            if follow {
                console.say("re-bootstrap  \(change.kind.rawValue)  \(change.id)" + (change.title.map { "  \($0)" } ?? ""))
                console.emit(ChangeJSON(revision: nil, id: change.id, op: change.kind == .deleted ? "delete" : "put", title: change.title))
            } else {
                item(change, revision: nil)
            }
        case .rebootstrapped(let report):
            progress.finish()
            console.note("re-bootstrapped: the replica now holds \(report.after) articles (\(report.before) before, \(report.removed) removed)")
        case .retryingWithoutDeltas(let reason):
            console.note("\(reason); pulling again without deltas")
        case .searchIndexPending:
            console.note("the search index is not built yet (a mirror becoming a reading replica, or an earlier pull that stopped before it); building it at the end of this pull")
        case .indexing(let done, let total) where progress.coversIndex:
            progress.advanceIndex(done: done, total: total)
        case .indexing(let done, let total):
            if done == 0 {
                progress.finish()
                progress.start(label: "building the search index…", from: 0, to: UInt64(total), unit: "articles indexed")
            } else {
                progress.advance(toRevision: UInt64(done), articles: 0, bytes: 0)
            }
        case .indexBuilt:
            progress.finish()
        case .reconnecting(let delay, let reason):
            console.note("\(reason); reconnecting in \(String(format: "%.1f", delay.seconds)) s")
            console.emit(ReconnectJSON(reason: reason, delaySeconds: delay.seconds))
        }
    }

    /// One itemized line, or its JSON object.
    func item(_ item: ChangeItem, revision: UInt64?) {
        console.say(item.line)
        console.emit(ItemJSON(change: item.kind.rawValue, id: item.id, title: item.title, revision: revision))
    }

    func summarize(_ report: DryRunReport) throws {
        try report.forEachChange { change in item(change.item, revision: change.revision) }
        let counts = ChangeReport(added: report.added, changed: report.changed, deleted: report.deleted)
        console.emit(DryRunJSON(
            store: report.storeID.description, cursor: report.cursor, head: report.head, counts: counts.counts, bytes: report.bytes,
            rebootstrap: report.snapshotRequired != nil, guardWouldRefuse: report.guardWouldRefuse))
        if let snapshot = report.snapshotRequired {
            let why = snapshot.message.isEmpty ? "\(snapshot.reason)" : snapshot.message
            console.say("dry run: the server cannot resume this replica (\(why)): a pull would rebuild it from the server's store; nothing was changed")
            return
        }
        console.say("dry run: \(counts.summary(dryRun: true)) (revision \(report.cursor) to \(report.head), \(formatBytes(report.bytes)) downloaded); nothing was changed")
        if report.guardWouldRefuse {
            console.note("a pull would stop here: deleting \(plural(counts.deleted, "article")) of the replica's \(report.replicaArticles) is more than --max-delete-percent allows (exit 5; --force applies it)")
        }
    }

    func summarize(_ report: PullReport) {
        console.emit(DoneJSON(
            store: report.storeID.description, cursor: report.cursor, startCursor: report.startCursor,
            applied: report.applied, deleted: report.deleted, bytes: report.bytes,
            rebootstrapped: report.rebootstrap != nil, removed: report.rebootstrap?.removed,
            added: report.rebootstrap?.added, changed: report.rebootstrap?.changed))
        if let rebootstrap = report.rebootstrap {
            let counts = ChangeReport(added: rebootstrap.added, changed: rebootstrap.changed, deleted: rebootstrap.removed)
            console.say("re-bootstrapped: \(counts.summary(dryRun: false)) against the replica before (\(plural(report.applied, "article")) downloaded, \(formatBytes(report.bytes))); the replica is at revision \(report.cursor)")
        } else if report.applied == 0 && report.deleted == 0 {
            console.say("already up to date at revision \(report.cursor)")
        } else {
            let kept = keepDeleted != nil && report.deleted > 0 ? ", kept (`list --deleted`)" : ""
            console.say("pulled \(plural(report.applied, "article")) and \(plural(report.deleted, "deletion"))\(kept) (\(formatBytes(report.bytes))); the replica is at revision \(report.cursor)")
        }
        if report.expired > 0, let keepDeleted {
            console.note("forgot \(plural(report.expired, "kept article")) deleted more than \(plural(keepDeleted, "day")) ago")
        }
    }
}

private struct ItemJSON: Encodable {
    var event = "item"
    var change: String
    var id: String
    var title: String?
    /// nil for a re-bootstrap's difference, which compares two replicas rather than applying a change.
    var revision: UInt64?
}

private struct DryRunJSON: Encodable {
    var event = "dryRun"
    var store: String
    var cursor: UInt64
    var head: UInt64
    var counts: ChangeCounts
    var bytes: Int
    var rebootstrap: Bool
    var guardWouldRefuse: Bool
}

private struct BatchJSON: Encodable {
    var event = "batch"
    var from: UInt64
    var to: UInt64
    var changes: Int
    var bytes: Int
}

private struct ChangeJSON: Encodable {
    var event = "change"
    /// nil for a re-bootstrap's difference.
    var revision: UInt64?
    var id: String
    var op: String
    var title: String?
}

private struct CaughtUpJSON: Encodable {
    var event = "caughtUp"
    var revision: UInt64
}

private struct SnapshotJSON: Encodable {
    var event = "snapshotRequired"
    var reason: String
    var message: String
}

private struct ReconnectJSON: Encodable {
    var event = "reconnecting"
    var reason: String
    var delaySeconds: Double
}

private struct DoneJSON: Encodable {
    var event = "done"
    var store: String
    var cursor: UInt64
    var startCursor: UInt64
    var applied: Int
    var deleted: Int
    var bytes: Int
    var rebootstrapped: Bool
    /// A re-bootstrap: how the swapped replica differs from the one before.
    var removed: Int?
    var added: Int?
    var changed: Int?
}
