import ArticleSyncProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The operations behind `articlesyncd token add|revoke|list`, on the file the server reads.
public enum TokenAdministration {
    /// Makes a token named `name` with the role named `role` ("read" or "write"), stores its hash and
    /// returns the token: the only moment it exists outside the client's hands.
    @discardableResult
    public static func add(path: String, name: String, role: String) throws(TokenFileError) -> (token: String, entry: TokenFile.Entry) {
        guard TokenFile.isValidName(name) else { throw .invalidName(name) }
        guard let role = Role(tokenFileName: Substring(role)) else {
            throw .malformedLine(path: path, line: 0, reason: "the role must be read or write, not \"\(role)\"")
        }
        let token = AccessToken.generate()
        let entry = TokenFile.Entry(name: name, role: role, created: utcTimestamp(), hash: TokenHash(of: token))
        try TokenFile.update(path: path) { (file: inout TokenFile) throws(TokenFileError) in
            guard !file.entries.contains(where: { $0.name == name }) else { throw .duplicateName(name) }
            file.entries.append(entry)
        }
        return (token, entry)
    }

    /// Removes the token named `name`; the server refuses it from the next connection on.
    @discardableResult
    public static func revoke(path: String, name: String) throws(TokenFileError) -> TokenFile.Entry {
        guard FileIdentity.of(path: path) != nil else {
            throw .cannotRead(path: path, reason: "no such file")
        }
        return try TokenFile.update(path: path) { (file: inout TokenFile) throws(TokenFileError) in
            guard let index = file.entries.firstIndex(where: { $0.name == name }) else { throw .unknownName(name) }
            return file.entries.remove(at: index)
        }
    }

    public static func list(path: String) throws(TokenFileError) -> [TokenFile.Entry] {
        try TokenFile.load(path: path).file.entries
    }

    /// "2026-11-29T05:10:00Z" for now.
    static func utcTimestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
