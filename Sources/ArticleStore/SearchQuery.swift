import Foundation

/// A reader's search, parsed into an FTS5 query. The syntax (also in `articlesync search --help`):
///
///     Straße Berlin          both words (every word must occur)
///     "rote Karte"           the words next to each other, in this order
///     Fußb*                  a word beginning with "Fußb" (also after a phrase: "rote Kar"*)
///     Bahn OR Zug            either word; OR joins the two words beside it: a OR b c = (a OR b) c
///     Berlin NOT Wetter      without the word (also -Wetter); NOT "rote Karte" excludes a phrase
///
/// OR and NOT are operators only in capitals; "or" and "not" are words. Everything else is taken
/// literally: each word and phrase reaches FTS5 quoted, so punctuation and FTS5's own syntax
/// (columns, NEAR, parentheses, ^) in the input never change the query's meaning.
public struct SearchQuery: Sendable, Hashable {
    /// One word or phrase as the reader wrote it.
    public struct Term: Sendable, Hashable {
        public var text: String
        public var phrase: Bool
        public var prefix: Bool
    }

    /// Groups that must all match; within a group, any term (OR).
    public var required: [[Term]]
    /// Terms that must not occur.
    public var excluded: [Term]

    /// Parses `text`; nil when it holds no word to look for.
    public init?(_ text: String) {
        var required: [[Term]] = []
        var excluded: [Term] = []
        var joinNext = false
        for token in Self.lex(text) {
            switch token {
            case .or:
                // OR between two positive terms; dangling (first, last, after NOT) it is ignored.
                joinNext = !required.isEmpty
            case .term(let term, let negated):
                if negated {
                    excluded.append(term)
                    joinNext = false
                } else if joinNext {
                    required[required.count - 1].append(term)
                    joinNext = false
                } else {
                    required.append([term])
                }
            }
        }
        guard !required.isEmpty else { return nil }
        self.required = required
        self.excluded = excluded
    }

    /// Whether `text` has words, but only excluded ones (a search FTS5 cannot answer).
    public static func onlyExcludes(_ text: String) -> Bool {
        SearchQuery(text) == nil && lex(text).contains { if case .term(_, true) = $0 { true } else { false } }
    }

    /// The FTS5 MATCH expression: `("a" OR "b") AND "c"* NOT "d"`.
    public var ftsExpression: String {
        ftsExpression { _, _ in nil }
    }

    /// `ftsExpression` with some terms written otherwise: `replacement(term, excluded)` gives an
    /// FTS5 expression (parenthesized where it needs to be) to stand for the term, nil to keep it.
    func ftsExpression(replacing replacement: (Term, _ excluded: Bool) -> String?) -> String {
        let groups = required.map { group in
            let terms = group.map { replacement($0, false) ?? Self.fts($0) }
            return terms.count == 1 ? terms[0] : "(" + terms.joined(separator: " OR ") + ")"
        }
        let exclusions = excluded.map { "NOT " + (replacement($0, true) ?? Self.fts($0)) }
        return ([groups.joined(separator: " AND ")] + exclusions).joined(separator: " ")
    }

    static func fts(_ term: Term) -> String {
        "\"" + term.text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" + (term.prefix ? "*" : "")
    }

    enum Token: Hashable {
        case term(Term, negated: Bool)
        case or
    }

    /// Words, "phrases" (an unclosed quote runs to the end), OR, NOT and -word.
    static func lex(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var negateNext = false
        var index = text.startIndex
        func add(_ raw: Substring, phrase: Bool, prefix: Bool) {
            let cleaned = phrase ? raw.trimmingCharacters(in: .whitespaces) : String(raw)
            guard !cleaned.isEmpty else { return }
            tokens.append(.term(Term(text: cleaned, phrase: phrase, prefix: prefix), negated: negateNext))
            negateNext = false
        }
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace {
                index = text.index(after: index)
                continue
            }
            if character == "-" || character == "\"" {
                var start = index
                if character == "-" {
                    let next = text.index(after: index)
                    guard next < text.endIndex, !text[next].isWhitespace else {
                        index = next
                        continue
                    }
                    negateNext = true
                    start = next
                    if text[next] != "\"" {
                        index = start
                        continue
                    }
                }
                // A phrase from the quote at `start` to the next quote.
                let open = text.index(after: start)
                let close = text[open...].firstIndex(of: "\"") ?? text.endIndex
                var after = close < text.endIndex ? text.index(after: close) : close
                var prefix = false
                while after < text.endIndex, text[after] == "*" {
                    prefix = true
                    after = text.index(after: after)
                }
                add(text[open..<close], phrase: true, prefix: prefix)
                index = after
                continue
            }
            let end = text[index...].firstIndex(where: { $0.isWhitespace || $0 == "\"" }) ?? text.endIndex
            var word = text[index..<end]
            index = end
            if word == "OR" {
                tokens.append(.or)
                continue
            }
            if word == "NOT" {
                negateNext = true
                continue
            }
            if word == "AND" { continue }
            var prefix = false
            while word.hasSuffix("*") {
                prefix = true
                word = word.dropLast()
            }
            add(word, phrase: false, prefix: prefix)
        }
        return tokens
    }
}
