import ArticleSyncProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The server's open connections: enforces the connection limit and reaches every connection when the
/// server stops.
final class ConnectionRegistry: Sendable {
    /// The credentials a connection was granted with, to end it when they are revoked.
    struct Grant: Sendable {
        var token: String
        var role: Role
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var grants: [ObjectIdentifier: Grant] = [:]
        var isShuttingDown = false
        var drained: [CheckedContinuation<Void, Never>] = []
    }

    private let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) {
        self.limit = limit
    }

    var isShuttingDown: Bool { state.withLockedValue { $0.isShuttingDown } }
    var count: Int { state.withLockedValue { $0.channels.count } }

    /// False when the limit is reached or the server is stopping: the connection must be refused.
    func register(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard !state.isShuttingDown, state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func deregister(_ channel: any Channel) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
            state.channels[ObjectIdentifier(channel)] = nil
            state.grants[ObjectIdentifier(channel)] = nil
            guard state.channels.isEmpty else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The connection passed the handshake with `token` (empty: anonymous) and `role`.
    func granted(_ channel: any Channel, token: String, role: Role) {
        guard !token.isEmpty else { return }
        state.withLockedValue { state in
            guard state.channels[ObjectIdentifier(channel)] != nil else { return }
            state.grants[ObjectIdentifier(channel)] = Grant(token: token, role: role)
        }
    }

    /// Every open connection that holds a token, with what it was granted.
    func grantedConnections() -> [(channel: any Channel, grant: Grant)] {
        state.withLockedValue { state in
            state.grants.compactMap { key, grant in state.channels[key].map { ($0, grant) } }
        }
    }

    /// Asks every connection to stop: idle ones close at once with SHUTTING_DOWN, busy ones after their
    /// current response.
    func beginShutdown() {
        let channels = state.withLockedValue { state in
            state.isShuttingDown = true
            return Array(state.channels.values)
        }
        for channel in channels {
            Connection.deliver(.shutdownRequested, on: channel)
        }
    }

    /// The grace period is over: every connection still open gets SHUTTING_DOWN and is closed.
    func closeAll() {
        let channels = state.withLockedValue { Array($0.channels.values) }
        for channel in channels {
            let error = ServerMessage.error(ErrorMessage(code: .shuttingDown, message: "the server is shutting down"))
            channel.writeAndFlush(error).whenComplete { _ in channel.close(promise: nil) }
            // A peer that reads nothing would keep the ERROR pending forever.
            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        }
    }

    /// Returns once no connection is open.
    func waitUntilEmpty() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let empty = state.withLockedValue { state -> Bool in
                if state.channels.isEmpty { return true }
                state.drained.append(continuation)
                return false
            }
            if empty { continuation.resume() }
        }
    }
}
