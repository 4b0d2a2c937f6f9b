extension ArticleDocument {
    /// What a mirror needs of a document without decoding its text: the checked publication time,
    /// category and title, and the source as the byte ranges it is made of (the verbatim source, or
    /// the pieces `SeedFormat.render` joins), so the caller hashes it without building it.
    public struct Heading {
        public var published: PublicationTime
        public var category: String
        public var title: String
        /// Concatenated, these are the source's bytes.
        public var sourceParts: [ArraySlice<UInt8>]
        public var sourceLength: Int
        /// The body's bytes, unchecked as UTF-8.
        public var body: ArraySlice<UInt8>
    }

    /// Reads the fields `decode` reads, with the same checks on the version, flags, time and
    /// lengths, and category and title as UTF-8. The body is not turned into a String (a mirror
    /// keeps it compressed; `decode` checks its UTF-8 where it is read).
    public static func decodeHeading(_ bytes: [UInt8]) throws(DecodeError) -> Heading {
        guard bytes.count >= 8 else { throw DecodeError("truncated") }
        guard bytes[0] == version else { throw DecodeError("unknown version") }
        let flags = bytes[1]
        guard flags & ~hasSourceFlag == 0 else { throw DecodeError("reserved flag bits set") }
        let year = Int(bytes[2]) << 8 | Int(bytes[3])
        let month = Int(bytes[4]), day = Int(bytes[5]), hour = Int(bytes[6]), minute = Int(bytes[7])
        guard (1...12).contains(month), day >= 1, day <= SeedFormat.daysIn(month: month, year: year), hour <= 23, minute <= 59 else {
            throw DecodeError("invalid publication time")
        }
        var offset = 8
        func field(_ width: Int) -> ArraySlice<UInt8>? {
            guard bytes.count - offset >= width else { return nil }
            var length = 0
            for index in offset..<offset + width { length = length << 8 | Int(bytes[index]) }
            offset += width
            guard bytes.count - offset >= length else { return nil }
            defer { offset += length }
            return bytes[offset..<offset + length]
        }
        guard let categoryBytes = field(2), let category = String(validating: categoryBytes, as: UTF8.self),
            let titleBytes = field(2), let title = String(validating: titleBytes, as: UTF8.self), let body = field(4)
        else { throw DecodeError("truncated field or invalid UTF-8") }
        let published = PublicationTime(year: year, month: month, day: day, hour: hour, minute: minute)
        var parts: [ArraySlice<UInt8>]
        if flags & hasSourceFlag != 0 {
            guard let source = field(4) else { throw DecodeError("truncated source") }
            parts = [source]
        } else {
            // SeedFormat's rendering of empty fields is the head and the four line feeds around the title.
            let empty = SeedFormat.render(published: published, category: "", title: "", body: "")
            let blank = empty[(empty.count - 2)...]
            parts = [empty.dropLast(4), categoryBytes, blank, titleBytes, blank, titleBytes]
            if !body.isEmpty { parts += [blank, body] }
        }
        guard offset == bytes.count else { throw DecodeError("bytes after the document") }
        return Heading(
            published: published, category: category, title: title, sourceParts: parts, sourceLength: parts.reduce(0) { $0 + $1.count },
            body: body)
    }
}
