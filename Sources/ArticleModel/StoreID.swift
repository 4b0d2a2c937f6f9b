/// 16 random bytes that name a store for its life (PROTOCOL.md §2). All zero means "no store".
public struct StoreID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]  // always 16

    public static let byteCount = 16
    public static let none = StoreID(uncheckedBytes: [UInt8](repeating: 0, count: byteCount))

    /// Nil unless `bytes` is exactly 16 bytes long: for values read from a file or the wire.
    public init?(bytes: some Sequence<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    private init(uncheckedBytes: [UInt8]) {
        self.bytes = uncheckedBytes
    }

    public static func random() -> StoreID {
        var generator = SystemRandomNumberGenerator()
        return StoreID(uncheckedBytes: (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    public var isNone: Bool { bytes.allSatisfy { $0 == 0 } }

    /// Lower-case hex, 32 characters.
    public var description: String { hexString(bytes) }
}
