#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Asks a person whether to trust a certificate seen for the first time.
public protocol TrustPrompt: Sendable {
    /// True to trust and remember, false to refuse; nil when nobody can be asked (not a terminal).
    func shouldTrust(_ presented: CertificateProbe.Presented, server: ServerAddress) -> Bool?
}

/// Asks on the terminal: the question goes to standard error, the answer comes from standard input,
/// and only when both are terminals (a script or a cron job is never asked, it fails with a hint).
public struct TerminalTrustPrompt: TrustPrompt {
    public init() {}

    public func shouldTrust(_ presented: CertificateProbe.Presented, server: ServerAddress) -> Bool? {
        guard isatty(STDIN_FILENO) == 1, isatty(STDERR_FILENO) == 1 else { return nil }
        let question = """
            The server \(server) presents a certificate that no CA you trust has signed:
              \(presented.fingerprint)
              valid \(utcDateText(presented.notValidBefore)) to \(utcDateText(presented.notValidAfter))
            Compare it with the fingerprint `articlesyncd cert generate` printed on the server.
            Trust it and remember? [y/N] 
            """
        // Straight to the descriptor: the C `stderr` global is not concurrency-safe in Swift 6.
        let bytes = Array(question.utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        guard let answer = readLine(strippingNewline: true) else { return false }
        let word = answer.lowercased().filter { !$0.isWhitespace }
        return word == "y" || word == "yes"
    }
}

/// A prompt that never asks: for programs and tests that must not block on a terminal.
public struct NonInteractiveTrustPrompt: TrustPrompt {
    public init() {}

    public func shouldTrust(_ presented: CertificateProbe.Presented, server: ServerAddress) -> Bool? { nil }
}
