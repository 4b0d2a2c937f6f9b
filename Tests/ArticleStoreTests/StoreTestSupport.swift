import ArticleModel
import ArticleStore
import Foundation
import XCTest

/// A temporary directory removed when the test ends.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("articlestore-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ relative: String) -> String { path + "/" + relative }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let target = file(relative)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
    }

    func write(_ relative: String, _ text: String) throws { try write(relative, Array(text.utf8)) }
}

enum Fixture {
    static func source(title: String, body: String = "Ein Absatz über Gespräche.", day: Int = 10, category: String = "Politik") -> String {
        let dd = day < 10 ? "0\(day)" : "\(day)"
        return "Veröffentlichungsdatum: \(dd).04.2025 21:17 / \(category)\n\n\(title)\n\n\(title)\n\n\(body)"
    }

    static func article(title: String, body: String = "Ein Absatz über Gespräche.", day: Int = 10, category: String = "Politik") -> Article {
        try! SeedFormat.parse(Array(source(title: title, body: body, day: day, category: category).utf8))
    }

    static func put(_ id: String, _ article: Article, expected: UInt64 = StoreWrite.anyRevision) -> StoreWrite {
        StoreWrite(id: id, expectedRevision: expected, operation: .put(article))
    }

    static func delete(_ id: String, expected: UInt64 = StoreWrite.anyRevision) -> StoreWrite {
        StoreWrite(id: id, expectedRevision: expected, operation: .delete)
    }
}

extension SQLiteCanonicalStore {
    /// The digest computed from scratch over the live articles, to check the running one.
    func recomputedDigest() async throws -> SHA256Hash {
        try await recomputeDigest(ids: allIDs()) { try await self.article(id: $0) }
    }
}

extension ReplicaStore {
    /// The digest computed from scratch over the live articles, to check the running one.
    func recomputedDigest() async throws -> SHA256Hash {
        try await recomputeDigest(ids: allIDs()) { try await self.article(id: $0) }
    }
}

private func recomputeDigest(ids: Set<String>, article: (String) async throws -> StoredArticle?) async throws -> SHA256Hash {
    var pairs: [(id: String, contentHash: [UInt8])] = []
    for id in ids {
        let stored = try await article(id)!
        pairs.append((id, stored.contentHash))
    }
    return StoreDigest.of(pairs).value
}

// XCTest's assertions take autoclosures, which cannot await; these take values.
func assertEqual<T: Equatable>(
    _ actual: T, _ expected: T, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual, expected, message(), file: file, line: line)
}

func assertNil<T>(_ value: T?, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertNil(value, message(), file: file, line: line)
}

func assertNotNil<T>(_ value: T?, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertNotNil(value, message(), file: file, line: line)
}
