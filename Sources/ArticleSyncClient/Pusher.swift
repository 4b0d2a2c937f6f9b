import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Foundation
import NIOCore

/// One article to upload, read and checked locally first.
public struct PushItem: Sendable, Hashable {
    public var id: String
    /// nil = delete.
    public var source: [UInt8]?
    /// Where it came from, for messages.
    public var file: String?

    public init(id: String, source: [UInt8]?, file: String? = nil) {
        self.id = id
        self.source = source
        self.file = file
    }
}

/// A file that was not sent, and why.
public struct RejectedFile: Sendable, Hashable {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}

public struct PushOutcome: Sendable, Hashable {
    public var id: String
    public var file: String?
    public var isDelete: Bool
    public var status: PushResult.Status
    /// APPLIED: the new revision; otherwise the server's current revision (0 if not live).
    public var revision: UInt64
    /// What we told the server we expected.
    public var expectedRevision: UInt64
    public var message: String
}

public struct PushReport: Sendable {
    public init() {}
    public var headRevision: UInt64 = 0
    public var outcomes: [PushOutcome] = []
    public var rejected: [RejectedFile] = []
    public var conflicts: [PushOutcome] { outcomes.filter { $0.status == .conflict } }
}

/// Uploads articles (PROTOCOL.md §5.7) with the conflict rule: each entry carries the revision the
/// replica last saw of that article (0 = "I expect it not to exist"), or ANY with `force`.
public struct Pusher: Sendable {
    public var configuration: ClientConfiguration
    public var replicaPath: String
    public var force: Bool

    public init(configuration: ClientConfiguration, replicaPath: String, force: Bool = false) {
        self.configuration = configuration
        self.replicaPath = replicaPath
        self.force = force
    }

    /// Reads FILE_OR_DIR arguments: files directly, directories one level deep (regular files not
    /// starting with "."). Each file is parsed as the seed format before anything is sent.
    public static func collect(paths: [String]) -> (items: [PushItem], rejected: [RejectedFile]) {
        var items: [PushItem] = []
        var rejected: [RejectedFile] = []
        // By the ids' bytes: NFC and NFD "café" are two articles (ArticleKey).
        var seen: [ArticleKey: String] = [:]
        let manager = FileManager.default
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                rejected.append(RejectedFile(file: path, reason: "no such file or directory"))
                continue
            }
            if isDirectory.boolValue {
                let names = ((try? manager.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
                for name in names {
                    let file = (path as NSString).appendingPathComponent(name)
                    var nested: ObjCBool = false
                    if manager.fileExists(atPath: file, isDirectory: &nested), !nested.boolValue { files.append(file) }
                }
            } else {
                files.append(path)
            }
        }
        for file in files {
            let id = articleID(forFile: file)
            if let problem = ArticleID.problem(with: id) {
                rejected.append(RejectedFile(file: file, reason: problem))
                continue
            }
            if let other = seen[ArticleKey(id)] {
                rejected.append(RejectedFile(file: file, reason: "same article id \"\(id)\" as \(other)"))
                continue
            }
            guard let data = manager.contents(atPath: file) else {
                rejected.append(RejectedFile(file: file, reason: "cannot be read"))
                continue
            }
            let bytes = [UInt8](data)
            guard bytes.count <= Int(ProtocolLimits.maxSourceLength) else {
                rejected.append(RejectedFile(file: file, reason: "is \(bytes.count) bytes, more than the limit of \(ProtocolLimits.maxSourceLength)"))
                continue
            }
            do {
                _ = try SeedFormat.parse(bytes)
            } catch {
                rejected.append(RejectedFile(file: file, reason: "not in the article format: \(error)"))
                continue
            }
            seen[ArticleKey(id)] = file
            items.append(PushItem(id: id, source: bytes, file: file))
        }
        return (items, rejected)
    }

    /// The id of an article file: its name without the extension (as the server's importer does).
    public static func articleID(forFile file: String) -> String {
        let name = (file as NSString).lastPathComponent
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    public func push(_ items: [PushItem]) async throws -> PushReport {
        guard !items.isEmpty else { return PushReport() }
        return try await SyncConnection.withConnection(configuration) { connection in
            var report = PushReport()
            let expected = try await self.expectedRevisions(for: items, serverStore: connection.welcome.storeID)
            let limit = Int(min(connection.welcome.maxFrameLength, ProtocolLimits.maxFrameLength))
            for chunk in Self.chunks(items, frameLimit: limit) {
                let entries = chunk.map { item in
                    PushEntry(
                        id: item.id, expectedRevision: expected[ArticleKey(item.id)] ?? 0,
                        operation: item.source.map { .put(source: ByteBuffer(bytes: $0)) } ?? .delete)
                }
                let result = try await connection.push(Push(entries: entries))
                report.headRevision = result.headRevision
                for (item, (entry, outcome)) in zip(chunk, zip(entries, result.results)) {
                    report.outcomes.append(PushOutcome(
                        id: item.id, file: item.file, isDelete: item.source == nil, status: outcome.status,
                        revision: outcome.revision, expectedRevision: entry.expectedRevision, message: outcome.message))
                }
            }
            try await self.record(report, serverStore: connection.welcome.storeID)
            return report
        }
    }

    /// What the replica knows of each id: its revision, 0 when it holds none. With `force`: ANY.
    private func expectedRevisions(for items: [PushItem], serverStore: StoreID) async throws -> [ArticleKey: UInt64] {
        if force { return Dictionary(items.map { (ArticleKey($0.id), PushEntry.anyRevision) }, uniquingKeysWith: { a, _ in a }) }
        guard Replica.exists(at: replicaPath) else { return [:] }
        let store = try Replica.open(at: replicaPath, fullTextIndex: nil)
        defer { try? store.close() }
        let state = try await replicaSnapshot(of: store, path: replicaPath)
        if let upstream = state.upstreamStoreID, upstream != serverStore {
            throw ClientError(
                .failure,
                "the replica \(replicaPath) follows another store than the server's (\(upstream) vs \(serverStore)); pull first, or push --force to overwrite without checks")
        }
        var expected: [ArticleKey: UInt64] = [:]
        for item in items {
            expected[ArticleKey(item.id)] = try await store.expectedPushRevision(id: item.id)
        }
        return expected
    }

    /// Tells the replica what the server now holds of each article this push applied (or found
    /// unchanged), so that the next push of it expects that revision before a pull brings it in.
    /// A conflict is not recorded: the next push must still be judged against what was seen.
    private func record(_ report: PushReport, serverStore: StoreID) async throws {
        guard Replica.exists(at: replicaPath) else { return }
        let now = Date().timeIntervalSince1970
        let records = report.outcomes.compactMap { outcome -> PushRecord? in
            switch outcome.status {
            case .applied: PushRecord(id: outcome.id, revision: outcome.revision, deleted: outcome.isDelete, pushedAt: now)
            case .unchanged: PushRecord(id: outcome.id, revision: outcome.revision, deleted: false, pushedAt: now)
            default: nil
            }
        }
        guard !records.isEmpty else { return }
        let store = try Replica.open(at: replicaPath, fullTextIndex: nil)
        defer { try? store.close() }
        let state = try await replicaSnapshot(of: store, path: replicaPath)
        if let upstream = state.upstreamStoreID, upstream != serverStore { return }
        do {
            try await store.recordPushes(records)
        } catch {
            throw ClientError.replica(replicaPath, "the push was applied, but the replica cannot record it (the next push of these articles may report a conflict): \(error)")
        }
    }

    /// Splits entries so each PUSH frame stays under the server's frame limit and entry count.
    static func chunks(_ items: [PushItem], frameLimit: Int) -> [[PushItem]] {
        // Measured uncompressed: the frame may be sent compressed, which is only ever smaller in
        // practice, and the uncompressed size is what the server inflates to.
        let budget = frameLimit - 2 - 4 - 64
        var chunks: [[PushItem]] = []
        var current: [PushItem] = []
        var size = 0
        for item in items {
            let entrySize = 1 + 1 + item.id.utf8.count + 8 + (item.source.map { 4 + $0.count } ?? 0)
            if !current.isEmpty && (size + entrySize > budget || current.count == Int(ProtocolLimits.maxPushEntries)) {
                chunks.append(current)
                current = []
                size = 0
            }
            current.append(item)
            size += entrySize
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
