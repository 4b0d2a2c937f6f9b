import ArticleStore
import NIOConcurrencyHelpers

/// Store dictionaries by id. A dictionary never changes (PROTOCOL.md §7.3), so once read it is kept:
/// inflating documents for clients without the DICTIONARY feature then costs no store read.
final class DictionaryCache: Sendable {
    private let store: any CanonicalStore
    private let cache = NIOLockedValueBox([UInt32: [UInt8]]())

    init(store: any CanonicalStore) {
        self.store = store
    }

    func dictionary(id: UInt32) async throws -> [UInt8]? {
        if let cached = cached(id: id) { return cached }
        guard let bytes = try await store.dictionary(id: id) else { return nil }
        cache.withLockedValue { $0[id] = bytes }
        return bytes
    }

    func cached(id: UInt32) -> [UInt8]? {
        cache.withLockedValue { $0[id] }
    }
}
