/// A SHA-256 value (32 bytes): an article's content hash, a delta's base, the store digest.
public struct SHA256Hash: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]  // always 32

    public static let byteCount = 32
    public static let zero = SHA256Hash(uncheckedBytes: [UInt8](repeating: 0, count: byteCount))

    /// Nil unless `bytes` is exactly 32 bytes long: for values read from a file or the wire.
    public init?(bytes: some Sequence<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    private init(uncheckedBytes: [UInt8]) {
        self.bytes = uncheckedBytes
    }

    /// Lower-case hex, 64 characters.
    public var description: String { hexString(bytes) }
}
