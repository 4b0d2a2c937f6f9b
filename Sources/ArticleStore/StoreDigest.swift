import ArticleModel
import Crypto

/// The store digest of PROTOCOL.md §7.6: the sum, modulo 2^256, of
/// `SHA-256(u8 idLength || id || contentHash)` over all live articles, as 32 big-endian bytes.
/// Adding and removing one article is O(1), so the store keeps it current with every change.
public struct StoreDigest: Hashable, Sendable {
    /// Four 64-bit limbs, most significant first.
    private var limbs: (UInt64, UInt64, UInt64, UInt64)

    public static let zero = StoreDigest(limbs: (0, 0, 0, 0))

    private init(limbs: (UInt64, UInt64, UInt64, UInt64)) { self.limbs = limbs }

    public static func == (a: StoreDigest, b: StoreDigest) -> Bool {
        a.limbs.0 == b.limbs.0 && a.limbs.1 == b.limbs.1 && a.limbs.2 == b.limbs.2 && a.limbs.3 == b.limbs.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(limbs.0)
        hasher.combine(limbs.1)
        hasher.combine(limbs.2)
        hasher.combine(limbs.3)
    }

    /// Reads 32 big-endian bytes; nil for another length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var values: [UInt64] = [0, 0, 0, 0]
        for (index, byte) in bytes.enumerated() {
            values[index / 8] = values[index / 8] << 8 | UInt64(byte)
        }
        limbs = (values[0], values[1], values[2], values[3])
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for limb in [limbs.0, limbs.1, limbs.2, limbs.3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: limb >> UInt64(shift))) }
        }
        return out
    }

    /// The 32 bytes as the shared hash type (what snapshots and VERIFY carry).
    public var value: SHA256Hash { SHA256Hash(bytes: bytes)! }

    /// `e = SHA-256(u8 length of id || id bytes || contentHash)` for one live article.
    public static func element(id: String, contentHash: [UInt8]) -> StoreDigest {
        // Once per article written: no array is made for the id, its length or the hash.
        var hasher = SHA256()
        var id = id
        id.withUTF8 { idBytes in
            precondition(idBytes.count >= 1 && idBytes.count <= 255, "article ids are 1-255 bytes")
            var length = UInt8(idBytes.count)
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(idBytes))
        }
        contentHash.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().withUnsafeBytes { digest in
            func limb(_ at: Int) -> UInt64 { UInt64(bigEndian: digest.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
            return StoreDigest(limbs: (limb(0), limb(8), limb(16), limb(24)))
        }
    }

    public mutating func add(_ other: StoreDigest) {
        var carry: UInt64 = 0
        func step(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (s1, o1) = a.addingReportingOverflow(b)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
            return s2
        }
        let l3 = step(limbs.3, other.limbs.3)
        let l2 = step(limbs.2, other.limbs.2)
        let l1 = step(limbs.1, other.limbs.1)
        let l0 = step(limbs.0, other.limbs.0)
        limbs = (l0, l1, l2, l3)
    }

    public mutating func subtract(_ other: StoreDigest) {
        var borrow: UInt64 = 0
        func step(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (d1, o1) = a.subtractingReportingOverflow(b)
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
            return d2
        }
        let l3 = step(limbs.3, other.limbs.3)
        let l2 = step(limbs.2, other.limbs.2)
        let l1 = step(limbs.1, other.limbs.1)
        let l0 = step(limbs.0, other.limbs.0)
        limbs = (l0, l1, l2, l3)
    }

    /// The digest of a whole set of (id, contentHash) pairs, computed from scratch (tests, audits).
    public static func of(_ articles: some Sequence<(id: String, contentHash: [UInt8])>) -> StoreDigest {
        var sum = StoreDigest.zero
        for article in articles { sum.add(element(id: article.id, contentHash: article.contentHash)) }
        return sum
    }

    /// SHA-256 of an article's exact source (PROTOCOL.md §7.1 contentHash).
    public static func contentHash(of source: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: source))
    }
}
