import ArticleSyncProtocol

/// The token file: who may connect, with which role. It holds SHA-256 hashes of tokens only, never a
/// token, so reading it (a backup, a glance over a shoulder) gives nobody access.
///
/// The format is plain text, one token per line, made to be read and edited by people:
///
/// ```
/// # comment lines and blank lines are ignored
/// NAME ROLE CREATED sha256:HASH
/// laptop read 2026-11-29T05:10:00Z sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
/// ```
///
/// - NAME: 1-64 characters from letters, digits, `.`, `_`, `-`, `@`; unique in the file.
/// - ROLE: `read` (pull, verify, dictionaries) or `write` (read and push).
/// - CREATED: when the token was made, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
/// - HASH: 64 hex digits, the SHA-256 of the token's UTF-8 bytes.
public struct TokenFile: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var name: String
        public var role: Role
        public var created: String
        public var hash: TokenHash

        public init(name: String, role: Role, created: String, hash: TokenHash) {
            self.name = name
            self.role = role
            self.created = created
            self.hash = hash
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// Written at the top of every file this program saves, so that whoever opens it knows what it is.
    public static let header = """
        # articlesync access tokens. Edit with `articlesyncd token add|revoke|list`; the server rereads
        # this file when it changes. Only SHA-256 hashes of tokens are stored here, never a token: a token
        # is printed once, when it is made, and cannot be recovered from this file.
        #
        # One token per line:  NAME ROLE CREATED sha256:HASH
        #   NAME     1-64 characters: letters, digits, . _ - @ (unique)
        #   ROLE     read (pull, verify) or write (push, and read)
        #   CREATED  UTC time the token was made, YYYY-MM-DDTHH:MM:SSZ
        #   HASH     64 hex digits: SHA-256 of the token's UTF-8 bytes
        # Lines starting with # and blank lines are ignored.

        """

    /// The file's text: the header, then one line per entry.
    public func rendered() -> String {
        var text = Self.header
        for entry in entries {
            text += "\(entry.name) \(entry.role.tokenFileName) \(entry.created) sha256:\(entry.hash)\n"
        }
        return text
    }

    /// Parses a token file's text. Errors name the line and what is wrong with it.
    public init(parsing text: String, path: String = "token file") throws(TokenFileError) {
        var entries = [Entry]()
        var names = Set<String>()
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            func fail(_ reason: String) -> TokenFileError {
                TokenFileError.malformedLine(path: path, line: lineNumber, reason: reason)
            }
            if fields.contains(where: { AccessToken.looksLikeToken($0) }) {
                throw fail(
                    "holds what looks like a token in clear text; only its SHA-256 belongs here (remove the line and use `articlesyncd token add`)"
                )
            }
            guard fields.count == 4 else {
                throw fail("expected 4 fields (NAME ROLE CREATED sha256:HASH), found \(fields.count)")
            }
            let name = String(fields[0])
            guard Self.isValidName(name) else {
                throw fail("the name \"\(name)\" must be 1-64 characters from letters, digits, . _ - @")
            }
            guard !names.contains(name) else { throw fail("the name \"\(name)\" appears twice") }
            guard let role = Role(tokenFileName: fields[1]) else {
                throw fail("the role must be read or write, not \"\(fields[1])\"")
            }
            guard Self.isValidTimestamp(fields[2]) else {
                throw fail("the creation time must look like 2026-11-29T05:10:00Z, not \"\(fields[2])\"")
            }
            guard fields[3].hasPrefix("sha256:"), let hash = TokenHash(hex: fields[3].dropFirst("sha256:".count))
            else {
                throw fail("the hash must be sha256: followed by 64 hex digits")
            }
            names.insert(name)
            entries.append(Entry(name: name, role: role, created: String(fields[2]), hash: hash))
        }
        self.entries = entries
    }

    /// The entry whose hash is the token's, if any. Every entry is compared, in constant time, so the
    /// time taken says nothing about which entry (or which bytes) came close.
    public func entry(forToken token: String) -> Entry? {
        let hash = TokenHash(of: token)
        var found: Entry? = nil
        for entry in entries where entry.hash.constantTimeEquals(hash) {
            found = entry
        }
        return found
    }

    public static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "-"), UInt8(ascii: "@"):
                return true
            default:
                return false
            }
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, by shape: the field is for people, nothing computes with it.
    static func isValidTimestamp(_ text: Substring) -> Bool {
        let pattern = Array("dddd-dd-ddTdd:dd:ddZ".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count == pattern.count else { return false }
        for (byte, expected) in zip(bytes, pattern) {
            if expected == UInt8(ascii: "d") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            } else if byte != expected {
                return false
            }
        }
        return true
    }
}

public enum TokenFileError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformedLine(path: String, line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case duplicateName(String)
    case unknownName(String)
    case invalidName(String)

    public var description: String {
        switch self {
        case .malformedLine(let path, let line, let reason):
            return "\(path) line \(line): \(reason)"
        case .cannotRead(let path, let reason):
            return "cannot read the token file \(path): \(reason)"
        case .cannotWrite(let path, let reason):
            return "cannot write the token file \(path): \(reason)"
        case .duplicateName(let name):
            return "a token named \"\(name)\" exists already; revoke it first or choose another name"
        case .unknownName(let name):
            return "no token is named \"\(name)\" (see `articlesyncd token list`)"
        case .invalidName(let name):
            return "the name \"\(name)\" must be 1-64 characters from letters, digits, . _ - @"
        }
    }
}

extension Role {
    /// The role's word in the token file and on the command line.
    public var tokenFileName: String {
        switch self {
        case .read: return "read"
        case .write: return "write"
        }
    }

    public init?(tokenFileName: Substring) {
        switch tokenFileName {
        case "read": self = .read
        case "write": self = .write
        default: return nil
        }
    }
}
