import ArticleSyncServer
import XCTest

final class SecurityAuthFailureLimiterTests: XCTestCase {
    let start = ContinuousClock.now

    func testFifthFailureWithinAMinuteBlocksTheAddressForTheBlockDuration() {
        var limiter = AuthFailureLimiter()
        for second in 0..<4 {
            XCTAssertFalse(limiter.recordFailure("10.0.0.9", now: start + .seconds(second)))
            XCTAssertNil(limiter.blockedUntil("10.0.0.9", now: start + .seconds(second)))
        }
        XCTAssertTrue(limiter.recordFailure("10.0.0.9", now: start + .seconds(4)))
        XCTAssertEqual(limiter.blockedUntil("10.0.0.9", now: start + .seconds(5)), start + .seconds(304))
        XCTAssertNil(limiter.blockedUntil("10.0.0.8", now: start + .seconds(5)), "other addresses are not affected")
        XCTAssertNotNil(limiter.blockedUntil("10.0.0.9", now: start + .seconds(303)))
        XCTAssertNil(limiter.blockedUntil("10.0.0.9", now: start + .seconds(304)))
    }

    func testFailuresOlderThanTheWindowDoNotCount() {
        var limiter = AuthFailureLimiter()
        for minute in 0..<10 {
            XCTAssertFalse(limiter.recordFailure("10.0.0.9", now: start + .seconds(minute * 15)), "4 per minute never block")
        }
    }

    func testSuccessForgivesEarlierFailures() {
        var limiter = AuthFailureLimiter()
        for second in 0..<4 { _ = limiter.recordFailure("10.0.0.9", now: start + .seconds(second)) }
        limiter.recordSuccess("10.0.0.9")
        XCTAssertFalse(limiter.recordFailure("10.0.0.9", now: start + .seconds(5)))
    }

    func testMemoryStaysBoundedUnderASprayOfAddresses() {
        var limiter = AuthFailureLimiter(configuration: .init(maxTrackedAddresses: 100))
        for index in 0..<1_000 {
            _ = limiter.recordFailure("10.0.\(index / 256).\(index % 256)", now: start + .milliseconds(index))
        }
        XCTAssertLessThanOrEqual(limiter.trackedAddressCount, 100)
    }
}
