import Foundation

#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif

/// Walks files and directories lazily in a deterministic order: arguments as given, each
/// directory's entries sorted by their UTF-8 bytes, depth first. Only one directory listing per
/// level is held at a time. Hidden entries (".…") are skipped, as no article id may start with
/// ".", and symbolic links to directories are not followed (no loops).
struct FileWalker {
    enum Item {
        case file(String)
        case failure(ImportFileError)
    }

    private var roots: [String]
    private var rootIndex = 0
    private var stack: [(directory: String, names: [String], index: Int)] = []
    /// False once any directory or argument could not be read: a mirror must not delete what it
    /// merely failed to see.
    private(set) var sawEverything = true

    init(roots: [String]) {
        self.roots = roots
    }

    mutating func next() -> Item? {
        while true {
            if var top = stack.popLast() {
                guard top.index < top.names.count else { continue }
                let name = top.names[top.index]
                top.index += 1
                stack.append(top)
                let path = top.directory.hasSuffix("/") ? top.directory + name : top.directory + "/" + name
                switch Self.kind(of: path, followLinks: false) {
                case .directory:
                    if let item = enter(path) { return item }
                case .file:
                    return .file(path)
                case .linkToDirectory, .other:
                    continue
                case .missing(let reason):
                    sawEverything = false
                    return .failure(ImportFileError(path: path, line: nil, reason: reason))
                }
                continue
            }
            guard rootIndex < roots.count else { return nil }
            let root = roots[rootIndex]
            rootIndex += 1
            switch Self.kind(of: root, followLinks: true) {
            case .directory, .linkToDirectory:
                if let item = enter(root) { return item }
            case .file:
                return .file(root)
            case .other:
                sawEverything = false
                return .failure(ImportFileError(path: root, line: nil, reason: "not a regular file or directory"))
            case .missing(let reason):
                sawEverything = false
                return .failure(ImportFileError(path: root, line: nil, reason: reason))
            }
        }
    }

    private mutating func enter(_ directory: String) -> Item? {
        do {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { !$0.hasPrefix(".") }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            stack.append((directory, names, 0))
            return nil
        } catch {
            sawEverything = false
            return .failure(ImportFileError(path: directory, line: nil, reason: "cannot read the directory"))
        }
    }

    enum Kind {
        case file, directory, linkToDirectory, other
        case missing(String)
    }

    static func kind(of path: String, followLinks: Bool) -> Kind {
        var info = stat()
        if lstat(path, &info) != 0 {
            return .missing(errno == ENOENT ? "no such file or directory" : String(cString: strerror(errno)))
        }
        if (info.st_mode & S_IFMT) == S_IFLNK {
            var target = stat()
            guard stat(path, &target) == 0 else { return .missing("broken symbolic link") }
            switch target.st_mode & S_IFMT {
            case S_IFREG: return .file
            case S_IFDIR: return followLinks ? .directory : .linkToDirectory
            default: return .other
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Reads a whole file, refusing one over `limit` bytes before reading it.
    static func read(_ path: String, limit: Int) -> Result<[UInt8], ImportFileError> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return .failure(ImportFileError(path: path, line: nil, reason: "cannot open: \(String(cString: strerror(errno)))"))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            return .failure(ImportFileError(path: path, line: nil, reason: "cannot stat: \(String(cString: strerror(errno)))"))
        }
        let size = Int(info.st_size)
        guard size <= limit else {
            return .failure(ImportFileError(path: path, line: nil, reason: "the file has \(size) bytes, more than the \(limit) a source may have"))
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + filled, size - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ImportFileError(path: path, line: nil, reason: "cannot read: \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            filled += count
        }
        if filled < size { bytes.removeSubrange(filled...) }
        return .success(bytes)
    }

    /// The article id of a file: its name without the last extension.
    static func articleID(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }
}
