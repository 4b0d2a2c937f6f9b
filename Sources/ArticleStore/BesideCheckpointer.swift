import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the WAL of a bulk write from a connection of its own, on a thread of its own.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: on the writer,
/// which is a bulk pull's critical path, it copied every page a second time (WAL to file, and the
/// file's sync) while the decoding waited for it. Here the writer's WAL hook (called after each
/// commit with the WAL's length) hands that work to this connection: a PASSIVE checkpoint copies
/// what has been committed without holding the writer up; once the WAL has grown past
/// `restartFrames`, a RESTART (which waits for the writer between two commits) copies the few pages
/// since and makes the next commit write the WAL from its start again, so the file stays bounded.
/// Durability is unchanged: a commit is in the WAL either way, and a checkpoint only copies it.
public final class BesideCheckpointer: Sendable {
    /// Frames committed since the last checkpoint that make the next one worth starting.
    public static let passiveFrames: Int32 = 1_000
    /// A WAL longer than this is restarted (with 4 KiB pages, 32 MiB).
    public static let restartFrames: Int32 = 8_192

    private let passiveFrames: Int32
    private let restartFrames: Int32

    private struct State {
        /// A checkpoint is queued or running on the side connection.
        var scheduled = false
        var stopped = false
        /// WAL frames the last checkpoint copied (0 after a restart, which starts the WAL over).
        var checkpointed: Int32 = 0
    }

    private let connection: DatabaseQueue
    private let state = Mutex(State())

    private init(connection: DatabaseQueue, passiveFrames: Int32, restartFrames: Int32) {
        self.connection = connection
        self.passiveFrames = passiveFrames
        self.restartFrames = restartFrames
    }

    /// Starts checkpointing `pool`'s WAL beside its writer; nil when the side connection cannot be opened
    /// (the writer then keeps checkpointing itself).
    static func start(
        on pool: DatabasePool, path: String, passiveFrames: Int32 = passiveFrames, restartFrames: Int32 = restartFrames
    ) async -> BesideCheckpointer? {
        var configuration = Configuration()
        // A RESTART holds the writer back while it waits for readers: it gives up soon instead (the
        // next one tries again), so a long read elsewhere never stalls the pull.
        configuration.busyMode = .timeout(0.2)
        guard let connection = try? DatabaseQueue(path: path, configuration: configuration) else { return nil }
        let checkpointer = BesideCheckpointer(connection: connection, passiveFrames: passiveFrames, restartFrames: restartFrames)
        let context = Unmanaged.passRetained(checkpointer).toOpaque()
        let address = UInt(bitPattern: context)
        do {
            try await pool.writeWithoutTransaction { db in
                _ = sqlite3_wal_hook(db.sqliteConnection, { context, _, _, frames in
                    guard let context else { return SQLITE_OK }
                    Unmanaged<BesideCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(walFrames: frames)
                    return SQLITE_OK
                }, UnsafeMutableRawPointer(bitPattern: address))
            }
        } catch {
            Unmanaged<BesideCheckpointer>.fromOpaque(context).release()
            try? connection.close()
            return nil
        }
        return checkpointer
    }

    /// Gives the writer its own checkpoints back, waits for the one under way and closes the side
    /// connection.
    func stop(on pool: DatabasePool) async {
        // The default hook replaces ours; after this write no commit can reach `committed`.
        _ = try? await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000") }
        state.withLock { $0.stopped = true }
        _ = try? await connection.writeWithoutTransaction { _ in }
        try? connection.close()
        Unmanaged.passUnretained(self).release()
    }

    /// The WAL hook, on the writer's thread after a commit: schedules a checkpoint when enough
    /// frames have come since the last one, and none is under way.
    private func committed(walFrames frames: Int32) {
        let start = state.withLock { state -> Bool in
            let since = frames < state.checkpointed ? frames : frames - state.checkpointed
            guard since >= passiveFrames || frames >= restartFrames, !state.scheduled, !state.stopped else { return false }
            state.scheduled = true
            return true
        }
        guard start else { return }
        let mode: Database.CheckpointMode = frames >= restartFrames ? .restart : .passive
        connection.asyncWriteWithoutTransaction { db in
            let done = (try? db.checkpoint(mode))?.checkpointedFrameCount ?? 0
            self.state.withLock { state in
                state.checkpointed = mode == .restart ? 0 : max(0, Int32(clamping: done))
                state.scheduled = false
            }
        }
    }
}
