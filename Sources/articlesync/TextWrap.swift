/// Wraps text to `width` columns at spaces; words longer than a line are kept whole. Line breaks in
/// the text are kept (a paragraph's lines are joined with "\n" in the seed format).
func wrap(_ text: String, width: Int, indent: String = "") -> [String] {
    let width = max(20, width)
    var lines: [String] = []
    for sourceLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
        var current = indent
        var currentCount = indent.count
        for word in sourceLine.split(separator: " ", omittingEmptySubsequences: true) {
            let wordCount = word.count
            if currentCount > indent.count && currentCount + 1 + wordCount > width {
                lines.append(current)
                current = indent
                currentCount = indent.count
            }
            if currentCount > indent.count {
                current += " "
                currentCount += 1
            }
            current += word
            currentCount += wordCount
        }
        lines.append(current)
    }
    return lines
}

/// "1 article", "2 articles".
func plural(_ count: Int, _ noun: String) -> String { count == 1 ? "1 \(noun)" : "\(count) \(noun)s" }
