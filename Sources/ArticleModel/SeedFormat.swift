/// The seed text format of PROTOCOL.md §7.1: parsing (lenient where real files are messy) and the
/// canonical rendering of §7.2.
public enum SeedFormat {
    /// "Veröffentlichungsdatum: " as UTF-8.
    static let datePrefix: [UInt8] = Array("Veröffentlichungsdatum: ".utf8)
    static let expectedDateLine = "expected 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category'"

    /// Parses a source; `Article.source` keeps `bytes` exactly (BOM, CR and all).
    public static func parse(_ bytes: [UInt8]) throws(SeedFormatError) -> Article {
        if bytes.isEmpty { throw SeedFormatError(line: 1, reason: "the file is empty") }
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }

        // Lines as byte ranges, with a CR before LF and trailing spaces/tabs cut off.
        var lines: [Range<Int>] = []
        lines.reserveCapacity(32)
        var lineStart = start
        var index = start
        let end = bytes.count
        while index <= end {
            if index == end || bytes[index] == UInt8(ascii: "\n") {
                var lineEnd = index
                if lineEnd > lineStart && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                while lineEnd > lineStart && (bytes[lineEnd - 1] == UInt8(ascii: " ") || bytes[lineEnd - 1] == UInt8(ascii: "\t")) {
                    lineEnd -= 1
                }
                lines.append(lineStart..<lineEnd)
                lineStart = index + 1
            }
            index += 1
        }

        func text(_ lineIndex: Int) throws(SeedFormatError) -> String {
            guard let string = String(validating: bytes[lines[lineIndex]], as: UTF8.self) else {
                throw SeedFormatError(line: lineIndex + 1, reason: "not valid UTF-8")
            }
            return string
        }

        // A Latin-1 file fails here, before its date line could look merely malformed.
        _ = try text(0)
        let (published, category) = try parseDateLine(bytes[lines[0]])

        // The title: the first non-blank line after the date line.
        var lineIndex = 1
        while lineIndex < lines.count && lines[lineIndex].isEmpty { lineIndex += 1 }
        guard lineIndex < lines.count else {
            throw SeedFormatError(line: 2, reason: "no title after the date line")
        }
        let title = try text(lineIndex)
        lineIndex += 1

        // The repeated title, when the next non-blank line equals it.
        var next = lineIndex
        while next < lines.count && lines[next].isEmpty { next += 1 }
        if next < lines.count && bytes[lines[next]].elementsEqual(bytes[lines[lineIndex - 1]]) {
            lineIndex = next + 1
        }

        // Paragraphs: runs of non-blank lines, lines joined with "\n", runs with "\n\n".
        var body = ""
        var inParagraph = false
        var afterFirstParagraph = false
        while lineIndex < lines.count {
            if lines[lineIndex].isEmpty {
                inParagraph = false
            } else {
                let line = try text(lineIndex)
                if inParagraph {
                    body += "\n"
                } else if afterFirstParagraph {
                    body += "\n\n"
                }
                body += line
                inParagraph = true
                afterFirstParagraph = true
            }
            lineIndex += 1
        }
        return Article(published: published, category: category, title: title, body: body, source: bytes)
    }

    /// Line 1: `Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category` (trailing blanks already cut).
    static func parseDateLine(_ line: ArraySlice<UInt8>) throws(SeedFormatError) -> (PublicationTime, String) {
        let prefix = datePrefix
        guard line.count >= prefix.count + 16, line.prefix(prefix.count).elementsEqual(prefix) else {
            throw SeedFormatError(line: 1, reason: expectedDateLine)
        }
        let date = Array(line.dropFirst(prefix.count).prefix(16))
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in date[range] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard date[2] == UInt8(ascii: "."), date[5] == UInt8(ascii: "."), date[10] == UInt8(ascii: " "),
            date[13] == UInt8(ascii: ":"),
            let day = number(0..<2), let month = number(3..<5), let year = number(6..<10),
            let hour = number(11..<13), let minute = number(14..<16)
        else {
            throw SeedFormatError(line: 1, reason: expectedDateLine)
        }
        let written = String(decoding: date, as: UTF8.self)
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else {
            throw SeedFormatError(line: 1, reason: "invalid date '\(written.prefix(10))'")
        }
        guard hour <= 23, minute <= 59 else {
            throw SeedFormatError(line: 1, reason: "invalid time '\(written.suffix(5))'")
        }
        let rest = line.dropFirst(prefix.count + 16)
        let separator: [UInt8] = Array(" / ".utf8)
        guard rest.count > separator.count, rest.prefix(separator.count).elementsEqual(separator) else {
            if rest.elementsEqual(separator.prefix(rest.count)) {
                throw SeedFormatError(line: 1, reason: "no category after the date")
            }
            throw SeedFormatError(line: 1, reason: expectedDateLine)
        }
        guard let category = String(validating: rest.dropFirst(separator.count), as: UTF8.self) else {
            throw SeedFormatError(line: 1, reason: "not valid UTF-8")
        }
        return (PublicationTime(year: year, month: month, day: day, hour: hour, minute: minute), category)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The canonical rendering (PROTOCOL.md §7.2): no BOM, LF only, the title repeated, no final newline.
    /// Written as bytes into one buffer: a client renders every article it receives (twice for the
    /// store's check), and building a String first cost more than the copy.
    public static func render(published: PublicationTime, category: String, title: String, body: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(48 + category.utf8.count + 2 * title.utf8.count + body.utf8.count)
        out.append(contentsOf: "Veröffentlichungsdatum: ".utf8)
        appendTime(published, to: &out)
        out.append(contentsOf: " / ".utf8)
        out.append(contentsOf: category.utf8)
        out.append(contentsOf: "\n\n".utf8)
        out.append(contentsOf: title.utf8)
        out.append(contentsOf: "\n\n".utf8)
        out.append(contentsOf: title.utf8)
        if !body.isEmpty {
            out.append(contentsOf: "\n\n".utf8)
            out.append(contentsOf: body.utf8)
        }
        return out
    }

    /// `published.description` ("DD.MM.YYYY HH:MM"), without the intermediate Strings when every
    /// field fits its digits; anything else takes the description itself.
    private static func appendTime(_ time: PublicationTime, to out: inout [UInt8]) {
        let twoDigits = 0...99
        guard (0...9999).contains(time.year), twoDigits.contains(time.month), twoDigits.contains(time.day),
            twoDigits.contains(time.hour), twoDigits.contains(time.minute)
        else {
            out.append(contentsOf: time.description.utf8)
            return
        }
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(time.day, 2)
        out.append(UInt8(ascii: "."))
        digits(time.month, 2)
        out.append(UInt8(ascii: "."))
        digits(time.year, 4)
        out.append(UInt8(ascii: " "))
        digits(time.hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(time.minute, 2)
    }

    public static func render(_ article: Article) -> [UInt8] {
        render(published: article.published, category: article.category, title: article.title, body: article.body)
    }
}
