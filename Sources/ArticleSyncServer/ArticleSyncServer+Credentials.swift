import ArticleSyncProtocol

extension ArticleSyncServer {
    /// Ends the connections whose token was revoked, removed or lost its role, a long poll
    /// included: one look at the credentials per interval for the whole server, and a look at each
    /// connection's token only when they changed.
    static func watchCredentials(context: ServerContext) async {
        let authenticator = context.configuration.authenticator
        guard var seen = await authenticator.credentialsVersion() else { return }
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: context.configuration.credentialsCheckInterval)
            } catch {
                return
            }
            guard let version = await authenticator.credentialsVersion(), version != seen else { continue }
            seen = version
            for (channel, grant) in context.registry.grantedConnections() {
                let role = await authenticator.currentRole(forToken: grant.token)
                if role.map({ $0 < grant.role }) ?? true {
                    context.logger.notice(
                        "ending a connection whose token no longer grants its role",
                        metadata: ["peer": "\(channel.remoteAddress?.loggable ?? "unknown")"])
                    Connection.deliver(.credentialsRevoked, on: channel)
                }
            }
        }
    }
}
