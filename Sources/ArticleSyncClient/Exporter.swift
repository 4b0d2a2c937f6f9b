import ArticleStore
import Foundation

public struct ExportReport: Sendable, Hashable {
    public var written = 0
    public var unchanged = 0
    public var removed = 0
    public var total = 0
}

/// Writes every live article as `<id>.txt` holding its exact source (byte-identical to what the
/// server imported), so a backup host can keep a plain-file mirror too.
public struct Exporter: Sendable {
    public var replicaPath: String
    public var directory: String
    /// Remove `*.txt` files whose article is no longer live.
    public var deleteStale: Bool

    public init(replicaPath: String, directory: String, deleteStale: Bool) {
        self.replicaPath = replicaPath
        self.directory = directory
        self.deleteStale = deleteStale
    }

    public func export(progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> ExportReport {
        let store = try Replica.openExisting(at: replicaPath)
        defer { try? store.close() }
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ClientError(.ioError, "cannot create \(directory): \(error.localizedDescription)")
        }
        var report = ExportReport()
        let ids = try await store.allIDs()
        report.total = ids.count
        for (index, id) in ids.sorted().enumerated() {
            guard let stored = try await store.article(id: id) else { continue }
            let path = (directory as NSString).appendingPathComponent(id + ".txt")
            let source = Data(stored.article.source)
            // Unchanged files are left alone: their mtime stays, and rsync/backup tools see no change.
            if let existing = manager.contents(atPath: path), existing == source {
                report.unchanged += 1
            } else {
                do {
                    try source.write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw ClientError(.ioError, "cannot write \(path): \(error.localizedDescription)")
                }
                report.written += 1
            }
            progress(index + 1, ids.count)
        }
        if deleteStale {
            let names = (try? manager.contentsOfDirectory(atPath: directory)) ?? []
            for name in names where name.hasSuffix(".txt") && !name.hasPrefix(".") {
                let id = String(name.dropLast(4))
                guard !ids.contains(id) else { continue }
                do {
                    try manager.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
                } catch {
                    throw ClientError(.ioError, "cannot remove \(name) from \(directory): \(error.localizedDescription)")
                }
                report.removed += 1
            }
        }
        return report
    }
}
