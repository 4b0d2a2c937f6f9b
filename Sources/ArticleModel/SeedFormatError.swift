/// Why a source is not in the seed format (PROTOCOL.md §7.1), with the 1-based line it was found on.
public struct SeedFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    /// "line 1: expected 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category'"
    public var description: String { "line \(line): \(reason)" }
}
