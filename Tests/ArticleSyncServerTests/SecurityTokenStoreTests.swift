import ArticleSyncProtocol
import ArticleSyncServer
import Foundation
import XCTest

final class SecurityTokenStoreTests: XCTestCase {
    private var directory: URL!
    private var path: String { directory.appendingPathComponent("tokens").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func names(_ outcome: TokenStore.Outcome) -> [String]? {
        if case .loaded(let file, _, _) = outcome { return file.entries.map(\.name) }
        return nil
    }

    private func reloaded(_ outcome: TokenStore.Outcome) -> Bool {
        if case .loaded(_, let reloaded, _) = outcome { return reloaded }
        return false
    }

    func testStoreRereadsTheFileOnlyWhenItChanges() throws {
        try TokenAdministration.add(path: path, name: "a", role: "read")
        var store = TokenStore(path: path)

        let first = store.current()
        XCTAssertEqual(names(first), ["a"])
        XCTAssertTrue(reloaded(first))
        XCTAssertFalse(reloaded(store.current()), "an unchanged file is not parsed again")

        try TokenAdministration.add(path: path, name: "b", role: "write")
        let afterAdd = store.current()
        XCTAssertTrue(reloaded(afterAdd))
        XCTAssertEqual(names(afterAdd), ["a", "b"])

        try TokenAdministration.revoke(path: path, name: "a")
        XCTAssertEqual(names(store.current()), ["b"])
    }

    func testAnEditInPlaceOfTheSameSizeIsNoticed() throws {
        let one = TokenFile(entries: [.init(name: "aaaa", role: .read, created: "2026-01-02T03:04:05Z", hash: TokenHash(of: "1"))])
        let two = TokenFile(entries: [.init(name: "bbbb", role: .read, created: "2026-01-02T03:04:05Z", hash: TokenHash(of: "2"))])
        XCTAssertEqual(one.rendered().utf8.count, two.rendered().utf8.count)
        try one.rendered().write(toFile: path, atomically: false, encoding: .utf8)
        var store = TokenStore(path: path)
        XCTAssertEqual(names(store.current()), ["aaaa"])

        // Same inode, same size: only the modification time tells. Make sure it moves.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data(two.rendered().utf8))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: path)

        XCTAssertEqual(names(store.current()), ["bbbb"])
    }

    func testAMissingOrBrokenFileFailsClosed() throws {
        try TokenAdministration.add(path: path, name: "a", role: "read")
        var store = TokenStore(path: path)
        XCTAssertNotNil(names(store.current()))

        try "a read now sha256:zz\n".write(toFile: path, atomically: true, encoding: .utf8)
        guard case .unavailable(let error) = store.current() else { return XCTFail("a broken file must not be used") }
        XCTAssertTrue("\(error)".contains("line 1"))

        try FileManager.default.removeItem(atPath: path)
        guard case .unavailable = store.current() else { return XCTFail("a missing file must not be used") }
    }
}
