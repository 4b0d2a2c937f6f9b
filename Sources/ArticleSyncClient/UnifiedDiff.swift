/// A unified line diff (`diff -u`'s format) of two texts, for `articlesync diff`. Articles are a few
/// dozen lines, so a longest-common-subsequence table is small; texts too large for one are
/// reported as differing without the lines (`nil`).
public enum UnifiedDiff {
    /// Lines × lines of the table beyond which no line diff is made.
    public static let maxCells = 4_000_000

    /// The hunks (`@@ -a,b +c,d @@` and their lines) between `old` and `new`; empty when equal,
    /// nil when too large to compare line by line. Lines are split at LF; a CR stays in its line.
    public static func hunks(_ old: [UInt8], _ new: [UInt8], context: Int = 3) -> [String]? {
        let a = lines(old), b = lines(new)
        guard a != b else { return [] }
        guard a.count * b.count <= maxCells else { return nil }
        // lcs[i][j]: the longest common subsequence of a[i...] and b[j...].
        let width = b.count + 1
        var lcs = [Int32](repeating: 0, count: (a.count + 1) * width)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i * width + j] = a[i] == b[j] ? lcs[(i + 1) * width + j + 1] + 1 : max(lcs[(i + 1) * width + j], lcs[i * width + j + 1])
            }
        }
        enum Edit { case same(Int, Int), removed(Int), added(Int) }
        var edits: [Edit] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count && j < b.count && a[i] == b[j] {
                edits.append(.same(i, j))
                i += 1
                j += 1
            } else if i < a.count && (j == b.count || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                // Removed lines before added ones, as diff -u shows a replaced line.
                edits.append(.removed(i))
                i += 1
            } else {
                edits.append(.added(j))
                j += 1
            }
        }
        // Group the changes with `context` unchanged lines around them into hunks.
        let changed = edits.indices.filter { if case .same = edits[$0] { false } else { true } }
        var hunks: [String] = []
        var start = 0
        while start < changed.count {
            var end = start
            while end + 1 < changed.count && changed[end + 1] - changed[end] <= 2 * context + 1 { end += 1 }
            let from = max(0, changed[start] - context), to = min(edits.count - 1, changed[end] + context)
            var oldStart = 0, newStart = 0, oldCount = 0, newCount = 0
            var body: [String] = []
            // The position before `from` in each text.
            var oldLine = 0, newLine = 0
            for edit in edits[..<from] {
                switch edit {
                case .same: oldLine += 1; newLine += 1
                case .removed: oldLine += 1
                case .added: newLine += 1
                }
            }
            oldStart = oldLine + 1
            newStart = newLine + 1
            for edit in edits[from...to] {
                switch edit {
                case .same(let x, _): body.append(" " + a[x]); oldCount += 1; newCount += 1
                case .removed(let x): body.append("-" + a[x]); oldCount += 1
                case .added(let y): body.append("+" + b[y]); newCount += 1
                }
            }
            // As diff -u numbers an empty side: the line before it.
            if oldCount == 0 { oldStart -= 1 }
            if newCount == 0 { newStart -= 1 }
            hunks.append((["@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@"] + body).joined(separator: "\n"))
            start = end + 1
        }
        return hunks
    }

    static func lines(_ bytes: [UInt8]) -> [String] {
        var result = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        // A final line feed ends the last line rather than starting an empty one.
        if result.last == "" { result.removeLast() }
        return result
    }
}
