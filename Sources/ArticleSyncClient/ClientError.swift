import ArticleSyncProtocol

/// An error a person can act on: `message` is a complete sentence fragment ready for
/// "articlesync: <message>", and `status` is the exit code it maps to.
public struct ClientError: Error, Sendable, CustomStringConvertible, Equatable {
    public var status: ExitStatus
    public var message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    public static func unreachable(_ address: ServerAddress, _ reason: String) -> ClientError {
        ClientError(.unavailable, "cannot reach \(address): \(reason)")
    }

    public static func connectionLost(_ address: ServerAddress, _ detail: String? = nil) -> ClientError {
        ClientError(.unavailable, "the connection to \(address) was lost" + (detail.map { ": \($0)" } ?? ""))
    }

    /// The server answered with an ERROR frame.
    public static func refused(_ error: ErrorMessage) -> ClientError {
        let status: ExitStatus
        switch error.code {
        case .authRequired?, .authFailed?, .forbidden?, .rateLimited?, .tlsRequired?: status = .permissionDenied
        case .shuttingDown?, .tooManyConnections?, .idleTimeout?, .handshakeTimeout?, .internalError?: status = .unavailable
        case .malformedFrame?, .frameTooLarge?, .inflatedTooLarge?, .badCompression?, .unknownMessageType?,
            .unexpectedMessage?, .badMagic?, .noCommonVersion?, .unknownDictionary?, .requestTooLarge?, nil:
            status = .dataError
        }
        let name = error.code.map { "\($0)" } ?? "error \(error.rawCode)"
        // The server's sentence goes to a terminal: no control characters, and on one line, so it
        // cannot pose as lines of our own.
        let text = error.message.isEmpty ? name : TerminalText.escaped(error.message, keepingLineBreaks: false)
        return ClientError(status, "server refused: \(text)")
    }

    /// The server broke the protocol (or the stream was corrupted on the way).
    public static func protocolViolation(_ detail: String) -> ClientError {
        ClientError(.dataError, "the server sent invalid data: \(detail)")
    }

    public static func replica(_ path: String, _ detail: String) -> ClientError {
        ClientError(.ioError, "replica \(path): \(detail)")
    }

    /// The table a dry run keeps the changes it reads in: a file in SQLite's temporary directory,
    /// so most often that disk is full.
    public static func temporaryTable(_ detail: String) -> ClientError {
        ClientError(.ioError, "the dry run's temporary table (in SQLite's temporary directory: $SQLITE_TMPDIR, $TMPDIR, else /var/tmp or /tmp): \(detail)")
    }
}
