/// The process exit codes of `articlesync`, shared with tests and scripts. The numbers follow
/// sysexits(3) where one fits, so shell scripts can tell "try again later" from "fix your input".
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    /// Anything not listed below.
    case failure = 1
    /// `diff`: the two could not be compared (diff(1)'s 2: its 1 says they differ).
    case diffTrouble = 2
    /// `push`: the server reported conflicts (someone else changed the article first).
    case conflicts = 3
    /// `verify`: the replica differs from the server's store.
    case verifyMismatch = 4
    /// A safety guard refused (a pull or a re-bootstrap would delete too much; nothing was
    /// changed): re-run with `--force`.
    case guardRefused = 5
    /// Bad command line (EX_USAGE).
    case usage = 64
    /// The server sent data that breaks the protocol, or an input file is invalid (EX_DATAERR).
    case dataError = 65
    /// The server could not be reached, or the connection broke (EX_UNAVAILABLE).
    case unavailable = 69
    /// The replica or an output file could not be read or written (EX_IOERR).
    case ioError = 74
    /// The server refused our credentials or role (EX_NOPERM).
    case permissionDenied = 77

    /// One line per code, for the root command's help.
    public static var table: String {
        """
          0   success
          1   general failure; diff: the two differ
          2   diff: the two could not be compared (no such article, no replica, ...)
          3   push: conflicts (pull, then push again, or push --force)
          4   verify: the replica differs from the server
          5   a safety guard refused (a pull or re-bootstrap would delete too much; nothing changed): use --force
         64   usage error (bad flags or arguments)
         65   data error: an invalid input file, or invalid data from the server
         69   network: the server is unreachable, went away or is unavailable
         74   I/O error on the replica or an output directory (export: some articles not written)
         77   access refused (token missing or wrong, or its role is too low)
        """
    }
}
