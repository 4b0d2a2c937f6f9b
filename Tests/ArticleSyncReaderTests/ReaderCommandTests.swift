import ArticleStore
import ArticleSyncTestSupport
import Foundation
import XCTest

/// `articlesync read` as a person starts it: the real binary.
final class ReaderCommandTests: XCTestCase {
    func testABusyPortIsAGeneralFailureThatSaysWhatToDo() async throws {
        let directory = try ScratchDirectory()
        let path = directory.file("replica.sqlite")
        try await ReaderFixture.replica(at: path).close()
        let first = try ChildProcess(Binaries.client, ["read", "--port", "0", "--replica", path])
        defer { first.terminate() }
        let address = try await first.waitForLine(timeout: .seconds(60)) { $0.hasPrefix("http://127.0.0.1:") }
        let port = try XCTUnwrap(address.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: "/"))) })

        let second = try ChildProcess(Binaries.client, ["read", "--port", String(port), "--replica", path])
        defer { second.terminate() }
        // 1, as `articlesyncd serve` on a busy port: 69 says a server could not be reached.
        let status = try await second.wait(timeout: .seconds(60))
        XCTAssertEqual(status, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("port \(port) on 127.0.0.1 is in use: pick another --port, or 0 for any free one"), second.stderr)
    }
}
