/// Comparisons whose running time does not depend on the contents compared.
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. Every byte is visited whatever the contents; only
    /// the lengths (public: hashes are always 32 bytes) may end it early.
    @inline(never)
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices {
            difference |= a[index] ^ b[index]
        }
        return difference == 0
    }
}
