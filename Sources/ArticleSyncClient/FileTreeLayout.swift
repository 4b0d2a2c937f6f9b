import ArticleModel

/// Where a plain-file tree puts each article, relative to its root.
public enum FileTreeLayout: String, CaseIterable, Sendable, Hashable {
    /// `<id>.txt`
    case flat
    /// `<first two characters of the id>/<id>.txt`
    case shard
    /// `YYYY/MM/<id>.txt`, from the article's publication date.
    case date
    /// The article's path as imported on the server (`ab/abcdef.txt`); flat for an article the
    /// server sent none for.
    case source

    /// The file of an article. Long ids take `Exporter.fileName(for:)`'s `long-ids/…` name inside
    /// the folder the layout chooses.
    public func path(id: String, published: PublicationTime, sourcePath: String?) -> String {
        switch self {
        case .flat:
            return Exporter.fileName(for: id)
        case .shard:
            // Two characters, not two bytes: a folder name is never half a character. An id never
            // starts with '.' and holds no '/' (§7.1), so the folder is never '.', '..' or nested.
            return String(String.UnicodeScalarView(id.unicodeScalars.prefix(2))) + "/" + Exporter.fileName(for: id)
        case .date:
            let year = String(published.year).leftPadded(to: 4)
            let month = String(published.month).leftPadded(to: 2)
            return year + "/" + month + "/" + Exporter.fileName(for: id)
        case .source:
            return sourcePath.flatMap { Self.checkedSourcePath($0, id: id) } ?? Exporter.fileName(for: id)
        }
    }

    /// `path` when it is safe to create under the tree's root and names this article: relative,
    /// made of names that are neither empty, hidden ('.' first, which also keeps '.', '..' and the
    /// tree's own `.articlesync-tree*` out) nor longer than a file name may be, free of control
    /// characters and backslashes, and ending in the id (plus an extension), as the importer
    /// derives ids from file names. A server that sends anything else gets the flat name instead.
    static func checkedSourcePath(_ path: String, id: String) -> String? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= 4_000 else { return nil }
        let parts = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for part in parts {
            guard !part.isEmpty, part.count <= 255, part.first != UInt8(ascii: ".") else { return nil }
            guard !part.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) else { return nil }
        }
        guard let name = parts.last else { return nil }
        let stem = name.lastIndex(of: UInt8(ascii: ".")).map { name[name.startIndex..<$0] } ?? name
        guard stem.elementsEqual(id.utf8) else { return nil }
        return path
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
