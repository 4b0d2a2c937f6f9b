import ArticleSyncClient
import Dispatch
import Foundation
import Synchronization

/// Ctrl-C during a pull: the bar is erased and the person told where the replica stands. Every
/// batch commits with its cursor, so stopping at once is as safe as the kill tests prove; what was
/// missing was the word that nothing is lost and how to go on.
enum PullInterruption {
    private struct State {
        /// The revision the replica (or the copy a re-bootstrap builds) has committed.
        var revision: UInt64?
        var rebootstrap = false
        var committed = false
    }

    private static let state = Mutex(State())
    /// Kept for the life of the process: a released source stops delivering the signal.
    nonisolated(unsafe) private static var source: (any DispatchSourceSignal)?

    /// `command` is what resumes, e.g. "articlesync pull".
    static func install(progress: ProgressBar, command: String) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            progress.finish()
            Console.write(message(resumedBy: command) + "\n", to: STDERR_FILENO)
            _exit(130)
        }
        source.resume()
        Self.source = source
    }

    static func message(resumedBy command: String) -> String {
        let current = state.withLock { $0 }
        guard let revision = current.revision else {
            return "stopped before the first batch arrived; the replica is unchanged"
        }
        if current.rebootstrap {
            return "stopped at revision \(revision) of the re-bootstrap (the replica itself is unchanged); `\(command)` resumes it"
        }
        return "stopped at revision \(revision); `\(command)` resumes"
    }

    /// Whether a batch has been committed (so that a pull that stops keeps something).
    static var hasCommitted: Bool { state.withLock { $0.committed } }

    /// Follows the committed revision from the sync's events.
    static func observe(_ event: SyncEvent) {
        state.withLock { state in
            switch event {
            case .pulling(let from, _, let rebootstrap, _, _):
                state.revision = from
                state.rebootstrap = rebootstrap
            case .batchApplied(let batch):
                state.revision = batch.toRevision
                state.committed = true
            case .caughtUp(let head):
                state.revision = head
                state.rebootstrap = false
            default:
                break
            }
        }
    }
}
