/// Text made safe for HTML: every article field comes from the server and is untrusted, so it
/// reaches a page only through `escaped` (element content and quoted attribute values alike).
enum HTML {
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // Controls other than tab and line feed have no business in a page; U+0000 would be
            // replaced by the parser anyway.
            case "\u{0}"..."\u{8}", "\u{B}"..."\u{1F}", "\u{7F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A query-string component: everything but unreserved characters percent-encoded.
    static func urlComponent(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// `path?key=value&…` with the empty values left out; values are encoded here.
    static func link(_ path: String, _ query: [(String, String?)]) -> String {
        let parts = query.compactMap { key, value in value.flatMap { $0.isEmpty ? nil : key + "=" + urlComponent($0) } }
        return parts.isEmpty ? path : path + "?" + parts.joined(separator: "&")
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
