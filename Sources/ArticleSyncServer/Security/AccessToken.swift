import Crypto

/// Access tokens as clients send them in HELLO (PROTOCOL.md §10).
///
/// The server never keeps a token: it keeps only its SHA-256 (`TokenHash`). A token is shown once,
/// when `articlesyncd token add` makes it.
public enum AccessToken {
    /// Names the format, so that a leaked token is recognisable to people and to secret scanners.
    public static let prefix = "asy_"

    /// A new token: the prefix and 32 random bytes (256 bits) in unpadded base64url (43 characters).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + base64URLEncoded(bytes)
    }

    /// True when `text` has the shape of a token this server makes (used to refuse one pasted into
    /// the token file in clear).
    public static func looksLikeToken(_ text: Substring) -> Bool {
        text.hasPrefix(prefix) && text.count == prefix.count + 43
    }

    static func base64URLEncoded(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            let available = min(3, bytes.count - index)
            for sextet in 0...available {
                out.append(alphabet[Int((triple >> UInt32(18 - 6 * sextet)) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The SHA-256 of a token's UTF-8 bytes: all the server knows of a token.
public struct TokenHash: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]  // always 32

    public init(of token: String) {
        bytes = Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// Parses 64 hex digits (either case).
    public init?(hex: Substring) {
        guard hex.utf8.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        var high: UInt8? = nil
        for character in hex.utf8 {
            guard let nibble = Self.nibble(character) else { return nil }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        self.bytes = bytes
    }

    /// Lower-case hex, 64 digits.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares without an early exit, so the time taken says nothing about where two hashes differ.
    public func constantTimeEquals(_ other: TokenHash) -> Bool {
        ConstantTime.equals(bytes, other.bytes)
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
