/// The server's view of its token file: reloaded whenever the file on disk changes, so that a token
/// added or revoked by `articlesyncd token` counts for the next connection, with no restart.
///
/// Checking costs one `stat` per authentication; the file is parsed only when its device, inode,
/// size or modification time moved.
public struct TokenStore: Sendable {
    public let path: String
    private var snapshot: TokenFile.Snapshot?

    public init(path: String) {
        self.path = path
    }

    /// What `current()` found.
    public enum Outcome: Sendable {
        /// The file as it is now; `reloaded` is true when it was read again for this call.
        case loaded(TokenFile, reloaded: Bool, mode: UInt32)
        /// The file is missing or broken. Callers fail closed: no token is accepted meanwhile.
        case unavailable(TokenFileError)
    }

    /// The token file as it is on disk now, read again only if it changed.
    public mutating func current() -> Outcome {
        if let snapshot, FileIdentity.of(path: path) == snapshot.identity {
            return .loaded(snapshot.file, reloaded: false, mode: snapshot.mode)
        }
        do {
            let fresh = try TokenFile.load(path: path)
            snapshot = fresh
            return .loaded(fresh.file, reloaded: true, mode: fresh.mode)
        } catch {
            // Forget the old file: accepting a token that the operator may just have revoked is
            // worse than refusing every token until the file is readable again.
            snapshot = nil
            return .unavailable(error)
        }
    }
}
