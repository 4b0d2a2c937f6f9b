import ArticleSyncProtocol
import Logging
import NIOCore

/// Decides a connection's role from HELLO's token, the peer's address and whether TLS is on, by the
/// rules of PROTOCOL.md §5.1 and §10:
///
/// 1. a token over plain TCP from a peer that is not on loopback: `TLS_REQUIRED` (the server checks
///    this before it asks; checked again here so that this type is safe on its own);
/// 2. no token: `AUTH_REQUIRED`;
/// 3. a token whose SHA-256 is in the token file: its role, whatever the address did before;
/// 4. otherwise, from an address (IPv4, or IPv6 /64) that failed too often recently: `RATE_LIMITED`;
///    else `AUTH_FAILED`; both after a delay.
///
/// The token file is reread when it changes (`TokenStore`): a new or revoked token counts from the next
/// HELLO, and the server ends open connections whose token no longer grants their role.
public actor TokenAuthenticator: Authenticator {
    public struct Configuration: Sendable {
        /// The token file (see `TokenFile` for its format).
        public var tokenFile: String
        /// How long a wrong token waits before its `AUTH_FAILED`: a guesser gets a few tries a
        /// second per connection, a person with a typo does not notice.
        public var failureDelay: Duration
        public var limiter: AuthFailureLimiter.Configuration

        public init(
            tokenFile: String,
            failureDelay: Duration = .milliseconds(250),
            limiter: AuthFailureLimiter.Configuration = .init()
        ) {
            self.tokenFile = tokenFile
            self.failureDelay = failureDelay
            self.limiter = limiter
        }
    }

    public nonisolated let configuration: Configuration
    private var store: TokenStore
    private var limiter: AuthFailureLimiter
    private let logger: Logger
    private var warnedAboutMode = false
    /// Counts the loads of the token file, for `credentialsVersion()`.
    private var version: UInt64 = 0

    public init(configuration: Configuration, logger: Logger = Logger(label: "articlesyncd.auth")) {
        self.configuration = configuration
        self.store = TokenStore(path: configuration.tokenFile)
        self.limiter = AuthFailureLimiter(configuration: configuration.limiter)
        self.logger = logger
    }

    public func authenticate(_ request: AuthenticationRequest) async -> AuthenticationDecision {
        let peerName = request.peer.map(Self.describe) ?? "an unknown peer"

        if !request.token.isEmpty, !request.isEncrypted, !request.isLoopback {
            logger.warning("refused a token sent over plain TCP", metadata: ["peer": "\(peerName)"])
            return .refused(
                ErrorMessage(
                    code: .tlsRequired,
                    message: "this server accepts tokens only over TLS from other hosts; connect with --tls (the server needs --tls-cert and --tls-key)"
                )
            )
        }

        guard !request.token.isEmpty else {
            return .refused(
                ErrorMessage(
                    code: .authRequired,
                    message: "this server needs an access token: pass --token-file PATH or set ARTICLESYNC_TOKEN"
                )
            )
        }

        let outcome = store.current()
        let file: TokenFile
        switch outcome {
        case .loaded(let loaded, let reloaded, let mode):
            file = loaded
            if reloaded {
                version += 1
                logger.info(
                    "loaded the token file",
                    metadata: ["path": "\(store.path)", "tokens": "\(loaded.entries.count)"]
                )
                warnIfWritableByOthers(mode: mode, path: store.path)
            }
        case .unavailable(let error):
            logger.error("refusing every token: \(error)")
            return .refused(
                ErrorMessage(
                    code: .internalError,
                    message: "the server cannot read its token file; its operator must fix it (see the server's log)"
                )
            )
        }

        // A valid token is granted whatever its address did before: the block is for guessers, and
        // must not let one local user lock a cron mirror on the same host out.
        let address = request.peer.map(AuthFailureLimiter.key) ?? peerName
        if let entry = file.entry(forToken: request.token) {
            limiter.recordSuccess(address)
            logger.info(
                "authenticated",
                metadata: ["peer": "\(peerName)", "token": "\(entry.name)", "role": "\(entry.role.tokenFileName)"]
            )
            return .granted(entry.role, tokenName: entry.name)
        }

        let now = ContinuousClock.now
        if let until = limiter.blockedUntil(address, now: now) {
            let seconds = max(1, Int((until - now).components.seconds))
            logger.notice("refused a rate-limited peer", metadata: ["peer": "\(peerName)"])
            try? await Task.sleep(for: configuration.failureDelay)
            return .refused(
                ErrorMessage(
                    code: .rateLimited,
                    message: "too many failed authentications from \(address); try again in \(seconds) s"
                )
            )
        }

        let blocked = limiter.recordFailure(address, now: now)
        logger.notice("refused an unknown token", metadata: ["peer": "\(peerName)"])
        if blocked {
            logger.warning(
                "rate-limiting \(address): \(configuration.limiter.maxFailures) failed authentications within \(configuration.limiter.window), blocked for \(configuration.limiter.blockDuration)"
            )
        }
        try? await Task.sleep(for: configuration.failureDelay)
        return .refused(
            ErrorMessage(
                code: .authFailed,
                message: "the access token is not known to this server (mistyped, or revoked)"
            )
        )
    }

    public func credentialsVersion() async -> UInt64? {
        switch store.current() {
        case .loaded(let file, let reloaded, let mode):
            if reloaded {
                version += 1
                logger.info("loaded the token file", metadata: ["path": "\(store.path)", "tokens": "\(file.entries.count)"])
                warnIfWritableByOthers(mode: mode, path: store.path)
            }
        case .unavailable:
            // Nothing is granted while the file cannot be read; report that as a change each time.
            version += 1
        }
        return version
    }

    public func currentRole(forToken token: String) async -> Role? {
        guard case .loaded(let file, _, _) = store.current() else { return nil }
        return file.entry(forToken: token)?.role
    }

    private func warnIfWritableByOthers(mode: UInt32, path: String) {
        guard mode & 0o022 != 0, !warnedAboutMode else { return }
        warnedAboutMode = true
        logger.warning(
            "the token file can be changed by other users, who could grant themselves access; run chmod 600 \(path)"
        )
    }

    private static func describe(_ address: SocketAddress) -> String {
        if let ip = address.ipAddress, let port = address.port { return "\(ip):\(port)" }
        return "\(address)"
    }
}
