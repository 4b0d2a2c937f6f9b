/// The binary document of PROTOCOL.md §7.2, the form in which an article travels (and is stored
/// compressed on the server).
///
/// ```
/// size  field
/// 1     version         u8 = 1
/// 1     flags           u8: bit 0 HAS_SOURCE; bits 1-7 reserved, MUST be 0
/// 2     year            u16
/// 1     month           u8
/// 1     day             u8
/// 1     hour            u8
/// 1     minute          u8
/// 2+n   category        str16
/// 2+n   title           str16
/// 4+n   body            u32 length + UTF-8
/// 4+n   source          u32 length + bytes (HAS_SOURCE only)
/// ```
public enum ArticleDocument {
    public static let version: UInt8 = 1
    public static let hasSourceFlag: UInt8 = 0x01

    public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { "invalid article document: \(reason)" }
    }

    /// Encodes `article`; the source travels only when it is not the canonical rendering.
    /// Fields longer than their length prefix allows cannot be encoded: the seed parser never
    /// produces a title or category line of 64 KiB, and the store refuses such articles first.
    public static func encode(_ article: Article) -> [UInt8] {
        let canonical = SeedFormat.render(article)
        let hasSource = canonical != article.source
        let category = Array(article.category.utf8)
        let title = Array(article.title.utf8)
        let body = Array(article.body.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(19 + category.count + title.count + body.count + (hasSource ? article.source.count : 0))
        out.append(version)
        out.append(hasSource ? hasSourceFlag : 0)
        appendU16(&out, UInt16(clamping: article.published.year))
        out.append(UInt8(clamping: article.published.month))
        out.append(UInt8(clamping: article.published.day))
        out.append(UInt8(clamping: article.published.hour))
        out.append(UInt8(clamping: article.published.minute))
        appendU16(&out, UInt16(clamping: category.count))
        out.append(contentsOf: category.prefix(Int(UInt16.max)))
        appendU16(&out, UInt16(clamping: title.count))
        out.append(contentsOf: title.prefix(Int(UInt16.max)))
        appendU32(&out, UInt32(clamping: body.count))
        out.append(contentsOf: body)
        if hasSource {
            appendU32(&out, UInt32(clamping: article.source.count))
            out.append(contentsOf: article.source)
        }
        return out
    }

    /// Whether `article` can be encoded without truncation (category and title under 64 KiB).
    public static func canEncode(_ article: Article) -> Bool {
        article.category.utf8.count <= Int(UInt16.max) && article.title.utf8.count <= Int(UInt16.max)
            && article.body.utf8.count <= Int(UInt32.max) && article.source.count <= Int(UInt32.max)
    }

    /// Decodes a document; without HAS_SOURCE the source is recreated by the canonical rendering.
    /// The caller checks the source's SHA-256 against the content hash it was given.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Article {
        var reader = Reader(bytes: bytes)
        guard let version = reader.u8(), version == Self.version else {
            throw DecodeError("unknown version")
        }
        guard let flags = reader.u8() else { throw DecodeError("truncated") }
        guard flags & ~hasSourceFlag == 0 else { throw DecodeError("reserved flag bits set") }
        guard let year = reader.u16(), let month = reader.u8(), let day = reader.u8(), let hour = reader.u8(),
            let minute = reader.u8()
        else { throw DecodeError("truncated") }
        guard (1...12).contains(month), day >= 1, Int(day) <= SeedFormat.daysIn(month: Int(month), year: Int(year)),
            hour <= 23, minute <= 59
        else { throw DecodeError("invalid publication time") }
        guard let categoryLength = reader.u16(), let category = reader.string(Int(categoryLength)),
            let titleLength = reader.u16(), let title = reader.string(Int(titleLength)),
            let bodyLength = reader.u32(), let body = reader.string(Int(bodyLength))
        else { throw DecodeError("truncated field or invalid UTF-8") }
        let published = PublicationTime(year: Int(year), month: Int(month), day: Int(day), hour: Int(hour), minute: Int(minute))
        let source: [UInt8]
        if flags & hasSourceFlag != 0 {
            guard let sourceLength = reader.u32(), let bytes = reader.bytes(Int(sourceLength)) else {
                throw DecodeError("truncated source")
            }
            source = bytes
        } else {
            source = SeedFormat.render(published: published, category: category, title: title, body: body)
        }
        guard reader.isAtEnd else { throw DecodeError("bytes after the document") }
        return Article(published: published, category: category, title: title, body: body, source: source)
    }

    private static func appendU16(_ out: inout [UInt8], _ value: UInt16) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(value & 0xFF))
    }

    private static func appendU32(_ out: inout [UInt8], _ value: UInt32) {
        out.append(UInt8(value >> 24))
        out.append(UInt8((value >> 16) & 0xFF))
        out.append(UInt8((value >> 8) & 0xFF))
        out.append(UInt8(value & 0xFF))
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset == bytes.count }

        mutating func u8() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func u16() -> UInt16? {
            guard bytes.count - offset >= 2 else { return nil }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func u32() -> UInt32? {
            guard bytes.count - offset >= 4 else { return nil }
            defer { offset += 4 }
            return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
                | UInt32(bytes[offset + 3])
        }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            guard bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }

        mutating func string(_ count: Int) -> String? {
            guard bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return String(validating: bytes[offset..<offset + count], as: UTF8.self)
        }
    }
}
