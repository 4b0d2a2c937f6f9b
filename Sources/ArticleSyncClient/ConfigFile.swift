import Foundation
import TOMLKit

/// The client's config file, `$XDG_CONFIG_HOME/articlesync/config` (else
/// `~/.config/articlesync/config`, or `--config PATH`, `$ARTICLESYNC_CONFIG`): the settings a
/// person would otherwise repeat on every command line. Flags and environment variables override it
/// (`ClientSettings`).
///
/// The file is TOML, read with TOMLKit: every key is a flag's long name, at the top level.
///
///     server = "10.0.0.5:7420"
///     pin = "SHA256:ab:cd:…"
///     token-file = "~/.config/articlesync/token"
///     replica = "/backup/articles.sqlite"
///     mirror = true
///
/// TOML rather than a home-made `key = value` form: quoting, escapes and comments are a known
/// standard that editors check, and the file can grow tables later without a second syntax. Its
/// cost is toml++, a C++ library TOMLKit compiles: about 20 s on a clean debug build and 26 s on a
/// clean release build (2 cores), nothing on an incremental one. TOMLKit reports the line of a
/// syntax error but not of a value, so the line of a key with a wrong value is found in the text.
///
/// Paths may start with `~/`; a relative path is relative to the folder of the config file.
/// An unknown key is an error, so a typo is never a setting silently ignored.
public struct ConfigFile: Sendable, Equatable {
    public enum Key: String, CaseIterable, Sendable {
        case server
        case tls
        case pin
        case caFile = "ca-file"
        case tokenFile = "token-file"
        case replica
        case mirror
        /// The plain-file tree `pull` keeps (`pull --files`).
        case files
        /// The plain-file tree's layout: flat, shard, date or source (`--layout`).
        case layout

        fileprivate enum Kind { case string, bool, path }

        fileprivate var kind: Kind {
            switch self {
            case .server, .pin, .layout: .string
            case .tls, .mirror: .bool
            case .caFile, .tokenFile, .replica, .files: .path
            }
        }
    }

    public enum Value: Sendable, Equatable, CustomStringConvertible {
        case string(String)
        case bool(Bool)

        public var description: String {
            switch self {
            case .string(let text): text
            case .bool(let flag): flag ? "true" : "false"
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var value: Value
        /// The line of the key in the file (1-based).
        public var line: Int
    }

    /// The plain-file tree's layouts (`FileTreeLayout`).
    public static let layouts = ["flat", "shard", "date", "source"]

    public let path: String
    public private(set) var entries: [Key: Entry]

    public init(path: String, entries: [Key: Entry] = [:]) {
        self.path = path
        self.entries = entries
    }

    /// `$ARTICLESYNC_CONFIG`, else `$XDG_CONFIG_HOME/articlesync/config`, else `~/.config/articlesync/config`.
    public static let pathVariable = "ARTICLESYNC_CONFIG"

    public static func defaultPath(environment: [String: String]) -> String? {
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            return config + "/articlesync/config"
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.config/articlesync/config"
    }

    /// Reads the file at `path`; nil when it does not exist (a config file is optional).
    public static func load(path: String, environment: [String: String]) throws(ClientError) -> ConfigFile? {
        let text: String
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
            guard !isDirectory.boolValue else {
                throw ClientError(.usage, "the config file \(path) is a directory")
            }
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ClientError(.ioError, "cannot read the config file \(path): \(String(cString: strerror(errno)).lowercased())")
            }
            defer { try? handle.close() }
            let data = try handle.read(upToCount: (1 << 20) + 1) ?? Data()
            guard data.count <= 1 << 20 else { throw ClientError(.usage, "the config file \(path) is larger than 1 MiB") }
            text = String(decoding: data, as: UTF8.self)
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError(.ioError, "cannot read the config file \(path): \(error.localizedDescription)")
        }
        return try parse(text, path: path, environment: environment)
    }

    /// Parses the text of a config file; `path` names it in errors and anchors relative paths.
    public static func parse(_ text: String, path: String, environment: [String: String]) throws(ClientError) -> ConfigFile {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ClientError(.usage, "\(path) line \(error.source.begin.line): \(error.description)")
        } catch {
            throw ClientError(.usage, "\(path): \(error)")
        }
        var file = ConfigFile(path: path)
        let lines = KeyLines(text)
        for (name, value) in table {
            let line = lines.line(of: name)
            func failure(_ problem: String) -> ClientError {
                ClientError(.usage, "\(path) line \(line): \(name): \(problem)")
            }
            guard let key = Key(rawValue: name) else {
                if value.type == .table {
                    throw failure("sections are not used: put every key at the top of the file")
                }
                let known = Key.allCases.map(\.rawValue).joined(separator: ", ")
                throw failure("unknown key (the keys are: \(known))")
            }
            let entryValue: Value
            switch key.kind {
            case .bool:
                guard let flag = value.bool else { throw failure("expected true or false, not \(describe(value))") }
                entryValue = .bool(flag)
            case .string, .path:
                guard let string = value.string else { throw failure("expected a quoted string, not \(describe(value))") }
                guard !string.isEmpty else { throw failure("is empty: leave the key out instead") }
                entryValue = .string(key.kind == .path ? resolve(string, relativeTo: path, environment: environment) : string)
            }
            if let problem = problem(with: entryValue, for: key) { throw failure(problem) }
            file.entries[key] = Entry(value: entryValue, line: line)
        }
        return file
    }

    /// What is wrong with a well-typed value, or nil.
    private static func problem(with value: Value, for key: Key) -> String? {
        guard case .string(let text) = value else { return nil }
        switch key {
        case .server where ServerAddress(parsing: text) == nil:
            return "'\(text)' is not a server address: expected \"HOST\" or \"HOST:PORT\", e.g. \"10.0.0.5:7420\""
        case .pin where CertificateFingerprint(parsing: text) == nil:
            return "expected a SHA-256 fingerprint as `articlesyncd cert generate` prints it (SHA256: and 32 hex pairs)"
        case .layout where !layouts.contains(text):
            return "'\(text)' is not a layout: expected one of \(layouts.joined(separator: ", "))"
        default:
            return nil
        }
    }

    private static func describe(_ value: any TOMLValueConvertible) -> String {
        "a \(value.type) (\(value.debugDescription))"
    }

    /// `~/x` in the home folder; a relative path beside the config file.
    static func resolve(_ path: String, relativeTo configPath: String, environment: [String: String]) -> String {
        if path == "~" || path.hasPrefix("~/"), let home = environment["HOME"], !home.isEmpty {
            return home + path.dropFirst()
        }
        if path.hasPrefix("/") { return path }
        let folder = (configPath as NSString).deletingLastPathComponent
        return folder.isEmpty ? path : folder + "/" + path
    }

    public func string(_ key: Key) -> (value: String, line: Int)? {
        guard let entry = entries[key], case .string(let text) = entry.value else { return nil }
        return (text, entry.line)
    }

    public func bool(_ key: Key) -> (value: Bool, line: Int)? {
        guard let entry = entries[key], case .bool(let flag) = entry.value else { return nil }
        return (flag, entry.line)
    }
}

/// The line where each top-level key is set. TOMLKit keeps no positions of values, so the text is
/// scanned: a key at the start of a line (bare or quoted) before `=`, outside any `[section]`.
private struct KeyLines {
    private var lines: [String: Int] = [:]
    private var sections: [String: Int] = [:]

    init(_ text: String) {
        var number = 0
        var inSection = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.drop(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("[") {
                inSection = true
                let name = line.drop(while: { $0 == "[" }).prefix(while: { $0 != "]" && $0 != "." })
                let key = name.trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
                if sections[key] == nil { sections[key] = number }
                continue
            }
            guard !inSection, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
            let base = key.split(separator: ".").first.map(String.init) ?? key
            if lines[base] == nil { lines[base] = number }
        }
    }

    func line(of key: String) -> Int { lines[key] ?? sections[key] ?? 1 }
}
