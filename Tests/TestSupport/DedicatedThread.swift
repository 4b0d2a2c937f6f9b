import Foundation

/// Runs blocking work (raw socket reads, `poll`) on a thread of its own and awaits its result.
///
/// All test suites share one process and Swift's cooperative pool, which has one thread per core (two
/// on CI). A test that blocks a pool thread for seconds stalls every other suite's tasks, in-process
/// servers included, and their timeouts then fire for no fault of the code under test.
public func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
