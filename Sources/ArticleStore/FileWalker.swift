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
///
/// A symbolic link to a file is followed only when its target lies inside the directory being
/// walked (after resolving every link): otherwise whoever may write into the import folder could
/// publish any file the server can read (a key, another tenant's data) as an article. Such a link
/// is skipped and reported. A file or link named as an argument is the operator's own choice.
struct FileWalker {
    enum Item {
        /// A regular file: `path` as walked (its name is the id), `readPath` what to open (the
        /// resolved target of a link), opened without following a link.
        case file(String, readPath: String)
        case failure(ImportFileError)
        /// A symbolic link whose target is outside the walked directory: not read.
        case skipped(ImportFileError)
    }

    private var roots: [String]
    private var rootIndex = 0
    private var stack: [(directory: String, names: [String], index: Int)] = []
    /// The walked root directory with every link resolved, for the symlink check.
    private var realRoot = "/"
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
                    return .file(path, readPath: path)
                case .linkToFile:
                    guard let target = Self.resolved(path) else {
                        return .skipped(ImportFileError(path: path, line: nil, reason: "a symbolic link whose target cannot be resolved; not imported"))
                    }
                    let inside = realRoot.hasSuffix("/") ? realRoot : realRoot + "/"
                    guard target.utf8.starts(with: inside.utf8) else {
                        return .skipped(ImportFileError(
                            path: path, line: nil,
                            reason: "a symbolic link to \(target), outside the folder \(roots[rootIndex - 1]) being imported; not imported"))
                    }
                    return .file(path, readPath: target)
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
                realRoot = Self.resolved(root) ?? root
                if let item = enter(root) { return item }
            case .file, .linkToFile:
                return .file(root, readPath: Self.resolved(root) ?? root)
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
        case file, directory, linkToFile, linkToDirectory, other
        case missing(String)
    }

    /// `path` with every symbolic link resolved (realpath), or nil.
    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
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
            case S_IFREG: return .linkToFile
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

    /// Reads a whole file, refusing one over `limit` bytes before reading it. `readPath` is opened
    /// without following a link (a file swapped for a link after the walk checked it is refused);
    /// `path` names it in errors.
    static func read(_ path: String, readPath: String? = nil, limit: Int) -> Result<[UInt8], ImportFileError> {
        let descriptor = open(readPath ?? path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
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
