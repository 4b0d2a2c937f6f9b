import Crypto

/// The SHA-256 of a certificate's DER bytes: what a pin names (like ssh's host key fingerprints).
///
/// Written `SHA256:` followed by 32 colon-separated lower-case hex pairs. Parsing also takes what
/// `openssl x509 -noout -fingerprint -sha256` prints, upper-case hex, and hex without colons.
public struct CertificateFingerprint: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]  // always 32

    public init(certificateDER: [UInt8]) {
        bytes = Array(SHA256.hash(data: certificateDER))
    }

    public init?(parsing text: String) {
        var rest = Substring(text.filter { !$0.isWhitespace })
        for prefix in ["sha256fingerprint=", "sha256:", "sha256="] where rest.lowercased().hasPrefix(prefix) {
            rest = rest.dropFirst(prefix.count)
            break
        }
        let digits = rest.filter { $0 != ":" }
        guard digits.utf8.count == 64 else { return nil }
        var bytes = [UInt8]()
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.bytes = bytes
    }

    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = Array("SHA256:".utf8)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ":")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
