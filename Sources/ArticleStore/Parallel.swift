import Foundation

enum Parallel {
    /// `items.map(transform)` on `concurrency` threads. Items are dealt out in strides, so the
    /// threads get similar mixes of small and large files.
    static func map<T, R>(_ items: [T], concurrency: Int, _ transform: (T) -> R) -> [R] {
        guard items.count > 1, concurrency > 1 else { return items.map(transform) }
        let workers = min(concurrency, items.count)
        let results = UnsafeMutableBufferPointer<R>.allocate(capacity: items.count)
        defer { results.deallocate() }
        withoutActuallyEscaping(transform) { transform in
            items.withUnsafeBufferPointer { input in
                // Each index is written by exactly one worker and read only after all have joined.
                nonisolated(unsafe) let input = input
                nonisolated(unsafe) let output = results
                nonisolated(unsafe) let transform = transform
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var index = worker
                    while index < input.count {
                        (output.baseAddress! + index).initialize(to: transform(input[index]))
                        index += workers
                    }
                }
            }
        }
        let array = Array(results)
        _ = results.deinitialize()
        return array
    }
}
