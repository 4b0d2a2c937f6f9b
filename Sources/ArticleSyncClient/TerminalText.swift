/// Text from a server (ERROR and SNAPSHOT_REQUIRED sentences, titles, ids, bodies) made safe to
/// print: a hostile server must not be able to drive the terminal (ESC sequences that retitle the
/// window, rewrite earlier lines or answer back) or fake output of ours with a carriage return.
public enum TerminalText {
    /// `text` with every C0 control, DEL and C1 control written as `\u{1B}`. Tab and line feed are kept
    /// with `keepingLineBreaks` (an article's body is made of lines), else escaped too. Nothing else
    /// changes, so text without controls comes back as it was.
    public static func escaped(_ text: String, keepingLineBreaks: Bool = true) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, keepingLineBreaks: keepingLineBreaks) }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar, keepingLineBreaks: keepingLineBreaks) else {
                out.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out.append(contentsOf: "\\u{\(hex.count < 2 ? "0" + hex : hex)}".unicodeScalars)
        }
        return String(out)
    }

    static func needsEscape(_ scalar: Unicode.Scalar, keepingLineBreaks: Bool) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A: return !keepingLineBreaks
        case 0x00...0x1F, 0x7F...0x9F: return true
        default: return false
        }
    }
}
