import ArticleStore
import Foundation
import XCTest

final class StoreLockTests: XCTestCase {
    func testASecondLockOnAStoreIsRefusedNamingTheStoreAndTheHolderUntilTheFirstIsReleased() throws {
        let directory = try TemporaryDirectory()
        let store = directory.file("s.sqlite")
        let first = try StoreLock(storeAt: store)
        XCTAssertEqual(first.path, store + ".lock")
        XCTAssertThrowsError(try StoreLock(storeAt: store)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(store), message)
            XCTAssertTrue(message.contains("pid \(getpid())"), message)
        }
        // Another store beside it is another lock.
        let other = try StoreLock(storeAt: directory.file("t.sqlite"))
        other.release()

        first.release()
        let again = try StoreLock(storeAt: store)
        again.release()
    }
}
