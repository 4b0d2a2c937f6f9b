import Foundation

/// Seed-format files for tests: a deterministic generated corpus and hand-made "messy" sources.
public enum Corpus {
    public static let words = [
        "Bundesregierung", "Gespräche", "über", "Straße", "Münchner", "Bürgermeister", "Verkehrswende",
        "Wähler", "Änderungen", "Haushalt", "größer", "Flüchtlinge", "Öffentlichkeit", "Energiepreise",
        "Koalition", "Grüne", "Gemeinden", "Stadtrat", "Unternehmen", "Börse", "Zinsen", "Schüler",
        "Krankenhäuser", "Wetterdienst", "Hochwasser", "Autobahn", "Bahnstreik", "Gewerkschaft",
        "der", "die", "das", "und", "mit", "für", "nach", "wegen", "trotz", "am", "im", "vom",
    ]
    public static let categories = ["Politik", "Wirtschaft", "Sport", "Kultur", "Welt Nachrichten", "Regional"]

    /// A well-formed article source; `index` makes it unique and deterministic.
    /// `noise` mixes in random letter groups so articles compress poorly (many small batches).
    public static func article(_ index: Int, paragraphs: Int = 4, edit: Int = 0, noise: Bool = false) -> String {
        var state = UInt64(index &* 2_654_435_761 &+ 17)
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % 1_000_000)
        }
        let day = 1 + index % 28, month = 1 + index / 28 % 12, year = 2020 + index / 336 % 6
        let hour = index % 24, minute = index * 7 % 60
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let category = categories[index % categories.count]
        let title = "Meldung \(index): " + (0..<5).map { _ in words[next() % words.count] }.joined(separator: " ")
        var text = "Veröffentlichungsdatum: \(two(day)).\(two(month)).\(year) \(two(hour)):\(two(minute)) / \(category)\n\n\(title)\n\n\(title)"
        for paragraph in 0..<paragraphs {
            let sentence = (0..<(40 + next() % 40)).map { _ -> String in
                guard noise, next() % 2 == 0 else { return words[next() % words.count] }
                return String((0..<6).map { _ in Character(UnicodeScalar(UInt8(97 + next() % 26))) })
            }.joined(separator: " ")
            text += "\n\n" + sentence + (paragraph == 0 && edit > 0 ? " Aktualisiert (\(edit))." : ".")
        }
        return text
    }

    public static func id(_ index: Int) -> String { String(format: "art%05d", index) }

    /// Writes `count` generated articles (ids art00000…) into `directory`.
    public static func write(count: Int, to directory: String, paragraphs: Int = 4, noise: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for index in 0..<count {
            try Data(article(index, paragraphs: paragraphs, noise: noise).utf8).write(to: URL(fileURLWithPath: "\(directory)/\(id(index)).txt"))
        }
    }

    /// Sources that are valid but not in canonical form: each must come back byte for byte.
    public static let messy: [String: [UInt8]] = [
        "messy-crlf": Array("Veröffentlichungsdatum: 01.02.2024 08:15 / Politik\r\n\r\nTitel mit CRLF\r\n\r\nTitel mit CRLF\r\n\r\nEin Absatz über Straßen.\r\n".utf8),
        "messy-bom": [0xEF, 0xBB, 0xBF] + Array("Veröffentlichungsdatum: 02.02.2024 09:00 / Kultur\n\nÜberschrift mit BOM\n\nÜberschrift mit BOM\n\nGrüße aus Köln.".utf8),
        "messy-norepeat": Array("Veröffentlichungsdatum: 03.02.2024 10:30 / Sport\n\nNur einmal der Titel\n\nDer Absatz folgt direkt.\nMit einer zweiten Zeile.".utf8),
        "messy-trailing": Array("Veröffentlichungsdatum: 04.02.2024 11:45 / Wirtschaft   \n\nTitel   \n\nTitel\n\nAbsatz mit Leerzeichen am Ende.  \t\n\n\n".utf8),
    ]

    public static func writeMessy(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (id, bytes) in messy {
            try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(id).txt"))
        }
    }
}
