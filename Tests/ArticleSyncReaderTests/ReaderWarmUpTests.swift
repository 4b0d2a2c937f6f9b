import ArticleStore
@testable import ArticleSyncReader
import XCTest

final class ReaderWarmUpTests: XCTestCase {
    /// Counting the categories scans every article; the reader does it once it listens, so the
    /// first page a browser asks for does not wait for it.
    func testTheReaderCountsTheCategoriesBeforeAnyPageIsAskedFor() async throws {
        let directory = try ScratchDirectory()
        let store = try await ReaderFixture.replica(at: directory.file("r.sqlite"))
        let server = ReaderServer(store: store)
        XCTAssertNil(server.app.cachedCategoryCounts)
        let (listening, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { continuation.yield($0) } }
        var iterator = listening.makeAsyncIterator()
        _ = await iterator.next()

        let deadline = ContinuousClock.now + .seconds(30)
        while server.app.cachedCategoryCounts == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let counted = server.app.cachedCategoryCounts
        task.cancel()
        _ = await task.result
        let cached = try XCTUnwrap(counted, "the reader did not count the categories on its own")
        let expected = try await store.categories()
        XCTAssertEqual(cached.counts, expected)
        let cursor = try await store.snapshot().cursor
        XCTAssertEqual(cached.cursor, cursor)
        try store.close()
    }
}
