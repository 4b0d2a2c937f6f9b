import GRDB

/// The reading replica's FTS5 tokenizer: unicode61's words and case folding, then German folding,
/// so that the ways a German word is typed meet.
///
/// - ß (and ẞ) becomes "ss": "Straße", "Strasse" and "STRASSE" are one token, "strasse".
/// - ä, ö, ü become a, o, u: "Größe" is indexed as "grosse", which "grosse", "Grösse" and "GRÖSSE"
///   find.
/// - The ae/oe/ue spellings are the query's business, so the index is no larger than without
///   them: a query word with ae, oe or ue also asks for it with a, o, u ("Groesse" finds "Größe",
///   "Mueller" finds "Müller"), and one with an umlaut also asks for the ae/oe/ue spelling ("Größe"
///   finds "Groesse"). Both at the same position (FTS5's colocated synonyms), so phrases and
///   prefixes keep working. The price is a rare extra match for a word that only looks so ("neue"
///   also finds "neu"); indexing both spellings instead would have made every umlaut word, a tenth
///   of German text, a second entry in the index, and its build that much slower.
/// - Other diacritics are removed as `unicode61 remove_diacritics 2` does ("Café" meets "Cafe").
///
/// Written against FTS5's C interface rather than GRDB's `FTS5WrapperTokenizer`: that one makes a
/// Swift String of every token, and the bulk index build tokenizes every word of every article.
/// Here a token of ASCII letters, most of German text, goes back to FTS5 as the same bytes,
/// without a copy; only a token with other letters is rewritten, in a buffer on the stack.
///
/// Every connection to a reading replica must know it (`StoreFile` registers it): a connection
/// without it cannot write the index or read it.
final class GermanFoldingTokenizer: FTS5CustomTokenizer {
    static let name = "german_fold"

    /// What `article_fts` is created with; a replica whose index was made with anything else is
    /// re-indexed on open (`StoreFile.upgradeFullTextIndex`).
    static let descriptor = "german_fold"

    /// Words and case, diacritics kept: the umlauts must still be there to be folded our way.
    private let words: any FTS5Tokenizer
    /// Strips the remaining diacritics of a folded token, as the index did before German folding.
    private let diacritics: any FTS5Tokenizer

    init(db: Database, arguments: [String]) throws {
        words = try db.makeTokenizer(FTS5TokenizerDescriptor(components: ["unicode61", "remove_diacritics", "0"]))
        diacritics = try db.makeTokenizer(FTS5TokenizerDescriptor(components: ["unicode61", "remove_diacritics", "2"]))
    }

    func tokenize(
        context: UnsafeMutableRawPointer?, tokenization: FTS5Tokenization, pText: UnsafePointer<CChar>?, nText: CInt,
        tokenCallback: @escaping FTS5TokenCallback
    ) -> CInt {
        // Second spellings for queries only (method 1 of FTS5's synonyms).
        var state = TokenizeState(
            output: tokenCallback, context: context, query: tokenization.contains(.query), diacritics: diacritics)
        return withUnsafeMutablePointer(to: &state) { statePointer in
            words.tokenize(context: statePointer, tokenization: tokenization, pText: pText, nText: nText) {
                statePointer, flags, pToken, nToken, iStart, iEnd in
                guard let statePointer, let pToken else { return 0 }
                let state = statePointer.assumingMemoryBound(to: TokenizeState.self)
                // The common case first, reading two fields in place rather than copying the state.
                if !state.pointee.query && GermanFolding.isASCII(pToken, Int(nToken)) {
                    return state.pointee.output(state.pointee.context, flags, pToken, nToken, iStart, iEnd)
                }
                return state.pointee.accept(flags: flags, token: pToken, count: Int(nToken), start: iStart, end: iEnd)
            }
        }
    }
}

private struct TokenizeState {
    let output: FTS5TokenCallback
    let context: UnsafeMutableRawPointer?
    /// Tokenizing a query: ae/oe/ue and umlauts ask for the other spelling too.
    let query: Bool
    let diacritics: any FTS5Tokenizer

    /// Sends one word on to FTS5, folded; returns FTS5's result code.
    func accept(flags: CInt, token: UnsafePointer<CChar>, count: Int, start: CInt, end: CInt) -> CInt {
        let bytes = UnsafeRawPointer(token).assumingMemoryBound(to: UInt8.self)
        if GermanFolding.isASCII(token, count) {
            let code = output(context, flags, token, CInt(count), start, end)
            guard code == 0, query else { return code }
            // "groesse" also as "grosse", which is how "Größe" is indexed.
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
                let contracted = GermanFolding.contract(UnsafeBufferPointer(start: bytes, count: count), into: buffer)
                guard contracted < count, let base = buffer.baseAddress else { return 0 }
                return base.withMemoryRebound(to: CChar.self, capacity: contracted) {
                    output(context, flags | FTS5TokenFlags.colocated.rawValue, $0, CInt(contracted), start, end)
                }
            }
        }

        // Folding never lengthens a token: ä (2 bytes) becomes a or ae, ß (2) ss, ẞ (3) ss.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * count) { buffer in
            let plain = UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
            let spelled = UnsafeMutableBufferPointer(rebasing: buffer[count...])
            let folded = GermanFolding.fold(UnsafeBufferPointer(start: bytes, count: count), plain: plain, spelled: spelled)
            // emit() may rewrite the buffer it is given (other diacritics): decide before.
            let plainIsASCII = !plain[0..<folded.plainCount].contains { $0 >= 0x80 }
            var code = emit(plain, count: folded.plainCount, flags: flags, start: start, end: end)
            guard code == 0, query else { return code }
            let colocated = flags | FTS5TokenFlags.colocated.rawValue
            if folded.hadUmlaut {
                code = emit(spelled, count: folded.spelledCount, flags: colocated, start: start, end: end)
            } else if plainIsASCII {
                // "groeße": its oe asks for "o" as well, as in an ASCII word.
                let contracted = GermanFolding.contract(UnsafeBufferPointer(rebasing: plain[0..<folded.plainCount]), into: spelled)
                if contracted < folded.plainCount { code = emit(spelled, count: contracted, flags: colocated, start: start, end: end) }
            }
            return code
        }
    }

    private func emit(_ buffer: UnsafeMutableBufferPointer<UInt8>, count: Int, flags: CInt, start: CInt, end: CInt) -> CInt {
        guard count > 0, let base = buffer.baseAddress else { return 0 }
        let folded = UnsafeBufferPointer(start: base, count: count)
        if !folded.contains(where: { $0 >= 0x80 }) {
            return base.withMemoryRebound(to: CChar.self, capacity: count) { output(context, flags, $0, CInt(count), start, end) }
        }
        // Letters other than the German ones (é, ç, ø…): unicode61 strips their diacritics. Its
        // output is never longer than its input, so it is written back over the buffer.
        var collected = Collected(buffer: buffer, count: 0)
        let code = withUnsafeMutablePointer(to: &collected) { collectedPointer in
            base.withMemoryRebound(to: CChar.self, capacity: count) { text in
                diacritics.tokenize(context: collectedPointer, tokenization: .document, pText: text, nText: CInt(count)) {
                    collectedPointer, _, pToken, nToken, _, _ in
                    guard let collectedPointer, let pToken else { return 0 }
                    collectedPointer.assumingMemoryBound(to: Collected.self).pointee.append(pToken, Int(nToken))
                    return 0
                }
            }
        }
        guard code == 0 else { return code }
        guard collected.count > 0 else { return 0 }
        return base.withMemoryRebound(to: CChar.self, capacity: collected.count) {
            output(context, flags, $0, CInt(collected.count), start, end)
        }
    }
}

/// Tokens of the diacritics pass, joined into one (they overwrite bytes already read).
private struct Collected {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var count: Int

    mutating func append(_ token: UnsafePointer<CChar>, _ length: Int) {
        let room = min(length, buffer.count - count)
        guard room > 0 else { return }
        UnsafeRawPointer(token).withMemoryRebound(to: UInt8.self, capacity: room) { source in
            for index in 0..<room { buffer[count + index] = source[index] }
        }
        count += room
    }
}

/// The German folding of one lower-cased UTF-8 token, into two spellings.
enum GermanFolding {
    static func isASCII(_ token: UnsafePointer<CChar>, _ count: Int) -> Bool {
        // CChar is signed on some platforms and not on others: look at the bytes.
        let bytes = UnsafeRawPointer(token).assumingMemoryBound(to: UInt8.self)
        for index in 0..<count where bytes[index] >= 0x80 { return false }
        return true
    }

    /// Writes `token` with every ae, oe and ue as a, o, u into `output` (at least as long);
    /// returns the length written.
    static func contract(_ token: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var written = 0, index = 0
        while index < token.count {
            let byte = token[index]
            output[written] = byte
            written += 1
            if index + 1 < token.count, token[index + 1] == UInt8(ascii: "e"),
                byte == UInt8(ascii: "a") || byte == UInt8(ascii: "o") || byte == UInt8(ascii: "u")
            {
                index += 2
            } else {
                index += 1
            }
        }
        return written
    }

    /// Writes the token with ä/ö/ü as a/o/u into `plain` and as ae/oe/ue into `spelled`, ß and ẞ
    /// as ss into both. Both buffers hold at least `token.count` bytes.
    static func fold(
        _ token: UnsafeBufferPointer<UInt8>, plain: UnsafeMutableBufferPointer<UInt8>, spelled: UnsafeMutableBufferPointer<UInt8>
    ) -> (plainCount: Int, spelledCount: Int, hadUmlaut: Bool) {
        var p = 0, s = 0, index = 0, hadUmlaut = false
        func put(_ byte: UInt8, both: Bool = true) {
            plain[p] = byte
            p += 1
            if both {
                spelled[s] = byte
                s += 1
            }
        }
        while index < token.count {
            let byte = token[index]
            // ä ö ü ß (and their capitals, should unicode61 leave one) are C3 xx in UTF-8.
            if byte == 0xC3, index + 1 < token.count {
                let base: UInt8?
                switch token[index + 1] {
                case 0xA4, 0x84: base = UInt8(ascii: "a")
                case 0xB6, 0x96: base = UInt8(ascii: "o")
                case 0xBC, 0x9C: base = UInt8(ascii: "u")
                case 0x9F:
                    put(UInt8(ascii: "s"))
                    put(UInt8(ascii: "s"))
                    index += 2
                    continue
                default: base = nil
                }
                if let base {
                    hadUmlaut = true
                    put(base, both: false)
                    spelled[s] = base
                    spelled[s + 1] = UInt8(ascii: "e")
                    s += 2
                    index += 2
                    continue
                }
            }
            // ẞ, U+1E9E, is E1 BA 9E.
            if byte == 0xE1, index + 2 < token.count, token[index + 1] == 0xBA, token[index + 2] == 0x9E {
                put(UInt8(ascii: "s"))
                put(UInt8(ascii: "s"))
                index += 3
                continue
            }
            put(byte)
            index += 1
        }
        return (p, s, hadUmlaut)
    }
}
