import ArticleModel
import ArticleStore
import ArticleSyncProtocol
import Crypto
import Foundation
import NIOCore

/// Deterministic seed-format articles.
enum Fixtures {
    static let categories = ["Politik", "Wirtschaft", "Sport", "Kultur"]

    /// `noiseWords` adds a paragraph of pseudo-random words, which zlib cannot shrink much: a way to
    /// make an article large on the wire.
    static func source(index: Int, edit: Int = 0, paragraphs: Int = 3, noiseWords: Int = 0) -> [UInt8] {
        let title = "Meldung \(index): Gespräche über die Verkehrswende"
        var text = "Veröffentlichungsdatum: \(String(format: "%02d", index % 28 + 1)).03.2024 \(String(format: "%02d", index % 24)):15 / \(categories[index % categories.count])\n\n\(title)\n\n\(title)"
        for paragraph in 0..<paragraphs {
            text += "\n\nAbsatz \(paragraph) von Artikel \(index), Fassung \(edit). Die Bürgermeister der Gemeinden trafen sich am Montag im Rathaus."
        }
        if noiseWords > 0 {
            var state = UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15
            var words: [String] = []
            for _ in 0..<noiseWords {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let letters = (0..<6).map { shift in Character(UnicodeScalar(UInt8(97 + (state >> (UInt64(shift) * 5 + 20)) % 26))) }
                words.append(String(letters))
            }
            text += "\n\n" + words.joined(separator: " ")
        }
        return Array(text.utf8)
    }

    static func article(index: Int, edit: Int = 0, paragraphs: Int = 3, noiseWords: Int = 0) -> Article {
        try! SeedFormat.parse(source(index: index, edit: edit, paragraphs: paragraphs, noiseWords: noiseWords))
    }

    static func put(id: String, index: Int, edit: Int = 0, expected: UInt64 = StoreWrite.anyRevision, paragraphs: Int = 3, noiseWords: Int = 0) -> StoreWrite {
        StoreWrite(id: id, expectedRevision: expected, operation: .put(article(index: index, edit: edit, paragraphs: paragraphs, noiseWords: noiseWords)))
    }

    static func delete(id: String) -> StoreWrite {
        StoreWrite(id: id, expectedRevision: StoreWrite.anyRevision, operation: .delete)
    }

    static func sha256(_ bytes: [UInt8]) -> SHA256Hash {
        SHA256Hash(bytes: Array(SHA256.hash(data: bytes)))!
    }
}
