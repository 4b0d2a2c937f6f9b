import Foundation
import GRDB

/// The terms of the full-text index that begin with a prefix, read from the index's own pages
/// (FTS5's leaf format, beside the structure record `FullTextIndexMerge` reads), for the search to
/// ask for them by name: FTS5 answers a prefix query (`bund*`) by merging the doclists of every
/// such term, all their rows, before it returns the first one, whatever the LIMIT, while an OR of
/// the same terms reads each only as far as the query goes.
///
/// A segment's leaf pages are rows of `article_fts_data`; `article_fts_idx` has a row for each
/// leaf page on which a term starts, keyed by (a prefix of) that term, so the pages holding a
/// prefix's terms are found without reading the doclists between them. Each leaf page ends with a
/// footer of the offsets of the terms that start on it; the first term on a page is written whole,
/// the others after the bytes they share with the one before. Terms carry the index's byte (`0`
/// for the main index) in front.
enum FullTextIndexTerms {
    struct Term: Equatable {
        /// As the tokenizer wrote it, without the index byte.
        var text: String
        /// Leaf pages its doclist spans, summed over the segments: the reading it costs.
        var pages: Int
    }

    struct Expansion: Equatable {
        /// In the index's order.
        var terms: [Term]
        /// Leaf pages the prefix's doclists span in all: what a prefix query merges.
        var pages: Int
    }

    /// The index byte of FTS5's main index (prefix indexes have others).
    static let mainIndex = UInt8(ascii: "0")

    /// The terms beginning with `prefix` (a token as the tokenizer makes it), or nil when the index
    /// is not in the form understood here (another SQLite's format, a page that does not parse) or
    /// has more than `limit` of them: the caller then asks FTS5's prefix query.
    static func expand(_ db: Database, prefix: String, limit: Int) throws -> Expansion? {
        guard !prefix.isEmpty, let structure = try FullTextIndexMerge.structure(db, schema: "main") else { return nil }
        let key = [mainIndex] + Array(prefix.utf8)
        guard let end = successor(key) else { return nil }
        var pagesByTerm: [[UInt8]: Int] = [:]
        var pages = 0
        let before = try db.cachedStatement(
            sql: "SELECT pgno FROM article_fts_idx WHERE segid = ? AND term <= ? ORDER BY term DESC LIMIT 1")
        let within = try db.cachedStatement(
            sql: "SELECT pgno FROM article_fts_idx WHERE segid = ? AND term >= ? AND term < ? ORDER BY term")
        let after = try db.cachedStatement(
            sql: "SELECT pgno FROM article_fts_idx WHERE segid = ? AND term >= ? ORDER BY term LIMIT 1")
        let page = try db.cachedStatement(sql: "SELECT block FROM article_fts_data WHERE id = ?")
        for segment in structure.levels.flatMap(\.segments) {
            let first = Int64(segment.firstPage)
            let last = Int64(segment.lastPage)
            // `pgno` is the page number shifted left by one, over a flag of the doclist index.
            let start = try Int64.fetchOne(before, arguments: [segment.id, Data(key)]).map { max(first, $0 >> 1) } ?? first
            let stop = try Int64.fetchOne(after, arguments: [segment.id, Data(end)]).map { min(last, $0 >> 1) } ?? last
            guard start <= stop else { continue }
            var candidates = [start]
            for pgno in try Int64.fetchAll(within, arguments: [segment.id, Data(key), Data(end)]) where pgno >> 1 > start {
                candidates.append(min(last, pgno >> 1))
            }
            // Where each of the segment's terms starts, to tell how many pages its doclist spans.
            var starts: [([UInt8], Int64)] = []
            for number in candidates {
                let id = Int64(segment.id) << FullTextIndexMerge.segmentShift + number
                guard let block = try Data.fetchOne(page, arguments: [id]), let terms = leafTerms([UInt8](block)) else { return nil }
                for term in terms where term.starts(with: key) {
                    starts.append((term, number))
                    guard starts.count <= limit else { return nil }
                }
            }
            for (index, (term, number)) in starts.enumerated() {
                let next = index + 1 < starts.count ? starts[index + 1].1 : stop
                pagesByTerm[term, default: 0] += Int(max(0, next - number)) + 1
            }
            pages += Int(stop - start) + 1
        }
        guard pagesByTerm.count <= limit else { return nil }
        var terms: [Term] = []
        for (bytes, spanned) in pagesByTerm {
            guard let text = String(validating: bytes.dropFirst(), as: UTF8.self) else { return nil }
            terms.append(Term(text: text, pages: spanned))
        }
        terms.sort { $0.text.utf8.lexicographicallyPrecedes($1.text.utf8) }
        return Expansion(terms: terms, pages: pages)
    }

    /// The smallest byte string above every one that begins with `key`; nil when there is none.
    static func successor(_ key: [UInt8]) -> [UInt8]? {
        var bytes = key
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }

    /// The terms that start on a leaf page, in order; nil for bytes that are not such a page.
    static func leafTerms(_ page: [UInt8]) -> [[UInt8]]? {
        guard page.count >= 4 else { return nil }
        let footer = Int(page[2]) << 8 | Int(page[3])
        guard footer >= 4, footer <= page.count else { return nil }
        var offsets = VarintReader(bytes: page, offset: footer)
        var offset = 0
        var terms: [[UInt8]] = []
        while offsets.offset < page.count {
            guard let delta = offsets.next() else { return nil }
            offset += Int(delta)
            guard offset >= 4, offset < footer else { return nil }
            var reader = VarintReader(bytes: page, offset: offset)
            let shared: Int
            if terms.isEmpty {
                shared = 0
            } else {
                guard let count = reader.next(), count <= UInt64(terms[terms.count - 1].count) else { return nil }
                shared = Int(count)
            }
            guard let added = reader.next(), added <= UInt64(footer - reader.offset) else { return nil }
            let suffix = page[reader.offset..<reader.offset + Int(added)]
            terms.append(shared == 0 ? Array(suffix) : Array(terms[terms.count - 1][0..<shared]) + suffix)
        }
        return terms
    }
}
