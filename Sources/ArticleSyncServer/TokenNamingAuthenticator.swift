import ArticleSyncProtocol

/// Passes everything to the configured authenticator and tells the metrics the name of each token it
/// grants, so the per-client lag is labelled by the token's name, never by the secret itself.
struct TokenNamingAuthenticator: Authenticator {
    let base: any Authenticator
    let metrics: ServerMetrics

    func authenticate(_ request: AuthenticationRequest) async -> AuthenticationDecision {
        let decision = await base.authenticate(request)
        if case .granted(_, let name) = decision {
            metrics.tokenGranted(request.token, name: name)
        }
        return decision
    }

    func credentialsVersion() async -> UInt64? {
        await base.credentialsVersion()
    }

    func currentRole(forToken token: String) async -> Role? {
        await base.currentRole(forToken: token)
    }
}
