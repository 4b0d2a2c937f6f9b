import Foundation
import GRDB

/// Moves the segments of an FTS5 index built in another file into the replica's `article_fts`, so
/// that two connections can build halves of one index at once (`ReplicaStore.rebuildFullTextIndex`).
/// FTS5 has no command for it; its on-disk format (SQLite's `fts5_index.c`, a documented file
/// format) makes it a copy of rows:
///
/// - `article_fts_data` holds every page of a segment under the rowid `segid << 37 | page bits`
///   (no page names its own segment), the averages record at rowid 1 and the structure record, the
///   list of segments by level, at rowid 10;
/// - `article_fts_idx` maps `(segid, term)` to pages; `article_fts_docsize` holds the token counts
///   of each row, which bm25 reads.
///
/// The incoming segments get segment ids the index does not use, join the levels they had, and the
/// averages (row count, tokens per column) are summed. Both indexes must have been made by the
/// same definition over disjoint rowids. A structure in any other form than the one understood here
/// (a newer SQLite's, with tombstones) is refused and the caller indexes those rows itself.
enum FullTextIndexMerge {
    /// FTS5_MAX_SEGMENT: segment ids are 1 through 2000.
    static let maxSegments = 2_000
    static let structureRowID: Int64 = 10
    static let averagesRowID: Int64 = 1
    static let segmentShift: Int64 = 37

    /// FTS5's structure record.
    struct Structure: Equatable {
        struct Segment: Equatable {
            var id: Int
            var firstPage: UInt64
            var lastPage: UInt64
        }

        struct Level: Equatable {
            /// Segments of the level an incremental merge is consuming (0: none in progress).
            var merging: UInt64
            var segments: [Segment]
        }

        var cookie: UInt32
        var writeCounter: UInt64
        var levels: [Level]

        var segmentCount: Int { levels.reduce(0) { $0 + $1.segments.count } }

        /// Nil for bytes that are not a structure record of this format.
        init?(_ bytes: [UInt8]) {
            guard bytes.count >= 4 else { return nil }
            // A newer SQLite marks its second format (segment tombstones) after the cookie.
            if bytes.count >= 8 && bytes[4..<8].elementsEqual([0xFF, 0x00, 0x00, 0x01]) { return nil }
            cookie = bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
            var reader = VarintReader(bytes: bytes, offset: 4)
            guard let levelCount = reader.next(), let segmentTotal = reader.next(), let writeCounter = reader.next(),
                levelCount <= 64, segmentTotal <= UInt64(FullTextIndexMerge.maxSegments)
            else { return nil }
            self.writeCounter = writeCounter
            levels = []
            for _ in 0..<levelCount {
                guard let merging = reader.next(), let count = reader.next(), count >= merging, count <= segmentTotal else { return nil }
                var segments: [Segment] = []
                for _ in 0..<count {
                    guard let id = reader.next(), let first = reader.next(), let last = reader.next(),
                        id >= 1, id <= UInt64(FullTextIndexMerge.maxSegments), last >= first
                    else { return nil }
                    segments.append(Segment(id: Int(id), firstPage: first, lastPage: last))
                }
                levels.append(Level(merging: merging, segments: segments))
            }
            guard reader.offset == bytes.count, UInt64(segmentCount) == segmentTotal else { return nil }
        }

        init(cookie: UInt32, writeCounter: UInt64, levels: [Level]) {
            self.cookie = cookie
            self.writeCounter = writeCounter
            self.levels = levels
        }

        var bytes: [UInt8] {
            var out: [UInt8] = [UInt8(cookie >> 24), UInt8(cookie >> 16 & 0xFF), UInt8(cookie >> 8 & 0xFF), UInt8(cookie & 0xFF)]
            Varint.append(UInt64(levels.count), to: &out)
            Varint.append(UInt64(segmentCount), to: &out)
            Varint.append(writeCounter, to: &out)
            for level in levels {
                Varint.append(level.merging, to: &out)
                Varint.append(UInt64(level.segments.count), to: &out)
                for segment in level.segments {
                    Varint.append(UInt64(segment.id), to: &out)
                    Varint.append(segment.firstPage, to: &out)
                    Varint.append(segment.lastPage, to: &out)
                }
            }
            return out
        }

        /// `self` with the segments of `other` under ids from `renumbered`, each level of `other`
        /// on a new level above `self`'s: later incremental writes into two optimized halves on
        /// one level cost more than into halves on levels of their own, the shape closest to the
        /// one segment FTS5's own 'optimize' leaves (rowids are disjoint, so the order of the
        /// levels does not matter to a query).
        func adding(_ other: Structure, renumbered: [Int: Int]) -> Structure {
            var levels = self.levels
            while let last = levels.last, last.segments.isEmpty { levels.removeLast() }
            for level in other.levels where !level.segments.isEmpty {
                levels.append(Level(
                    merging: 0,
                    segments: level.segments.map { Segment(id: renumbered[$0.id]!, firstPage: $0.firstPage, lastPage: $0.lastPage) }))
            }
            // Trailing empty levels are not written by FTS5 either.
            while let last = levels.last, last.segments.isEmpty { levels.removeLast() }
            return Structure(cookie: cookie &+ 1, writeCounter: writeCounter &+ other.writeCounter, levels: levels)
        }
    }

    /// The averages record: rows, then tokens per column.
    static func averages(_ bytes: [UInt8]) -> [UInt64]? {
        var reader = VarintReader(bytes: bytes, offset: 0)
        var values: [UInt64] = []
        while reader.offset < bytes.count {
            guard let value = reader.next() else { return nil }
            values.append(value)
        }
        return values
    }

    static func averagesBytes(_ values: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        for value in values { Varint.append(value, to: &out) }
        return out
    }

    static func structure(_ db: Database, schema: String) throws -> Structure? {
        guard let data = try Data.fetchOne(db, sql: "SELECT block FROM \(schema).article_fts_data WHERE id = ?", arguments: [structureRowID])
        else { return nil }
        return Structure([UInt8](data))
    }

    /// Copies the index in the attached schema `source` into `main`'s, in the caller's transaction.
    /// Returns false, changing nothing, when either structure is not one this merge understands,
    /// has an incremental merge in progress, or the two together exceed FTS5's segment ids.
    static func merge(_ db: Database, from source: String) throws -> Bool {
        guard let target = try structure(db, schema: "main"), let incoming = try structure(db, schema: source),
            target.levels.allSatisfy({ $0.merging == 0 }), incoming.levels.allSatisfy({ $0.merging == 0 }),
            target.segmentCount + incoming.segmentCount <= maxSegments
        else { return false }
        let targetAverages = try Data.fetchOne(db, sql: "SELECT block FROM main.article_fts_data WHERE id = ?", arguments: [averagesRowID])
            .map { averages([UInt8]($0)) } ?? []
        let incomingAverages = try Data.fetchOne(db, sql: "SELECT block FROM \(source).article_fts_data WHERE id = ?", arguments: [averagesRowID])
            .map { averages([UInt8]($0)) } ?? []
        guard let targetAverages, let incomingAverages else { return false }

        var used = Set(target.levels.flatMap { $0.segments.map(\.id) })
        var renumbered: [Int: Int] = [:]
        var next = 1
        for level in incoming.levels {
            for segment in level.segments {
                while used.contains(next) { next += 1 }
                renumbered[segment.id] = next
                used.insert(next)
            }
        }
        let copyPages = try db.makeStatement(
            sql: "INSERT INTO main.article_fts_data(id, block) SELECT id + ?, block FROM \(source).article_fts_data WHERE id >= ? AND id < ?")
        let copyTerms = try db.makeStatement(
            sql: "INSERT INTO main.article_fts_idx(segid, term, pgno) SELECT ?, term, pgno FROM \(source).article_fts_idx WHERE segid = ?")
        for (old, new) in renumbered {
            let delta = Int64(new - old) << segmentShift
            try copyPages.execute(arguments: [delta, Int64(old) << segmentShift, Int64(old + 1) << segmentShift])
            try copyTerms.execute(arguments: [new, old])
        }
        try db.execute(sql: "INSERT INTO main.article_fts_docsize(id, sz) SELECT id, sz FROM \(source).article_fts_docsize")

        let columns = max(targetAverages.count, incomingAverages.count)
        let summed = (0..<columns).map { index in
            (index < targetAverages.count ? targetAverages[index] : 0) &+ (index < incomingAverages.count ? incomingAverages[index] : 0)
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO main.article_fts_data(id, block) VALUES (?, ?)",
            arguments: [averagesRowID, Data(averagesBytes(summed))])
        try db.execute(
            sql: "UPDATE main.article_fts_data SET block = ? WHERE id = ?",
            arguments: [Data(target.adding(incoming, renumbered: renumbered).bytes), structureRowID])
        return true
    }
}

/// SQLite's variable-length integers (as FTS5 writes them): big-endian groups of 7 bits, the high
/// bit set on all but the last byte; a ninth byte carries 8 bits.
enum Varint {
    static func append(_ value: UInt64, to out: inout [UInt8]) {
        if value >> 56 != 0 {
            var bytes = [UInt8](repeating: 0, count: 9)
            bytes[8] = UInt8(value & 0xFF)
            var rest = value >> 8
            for index in stride(from: 7, through: 0, by: -1) {
                bytes[index] = UInt8(rest & 0x7F) | 0x80
                rest >>= 7
            }
            out += bytes
            return
        }
        var groups: [UInt8] = []
        var rest = value
        repeat {
            groups.append(UInt8(rest & 0x7F) | (groups.isEmpty ? 0 : 0x80))
            rest >>= 7
        } while rest != 0
        out += groups.reversed()
    }
}

struct VarintReader {
    let bytes: [UInt8]
    var offset: Int

    mutating func next() -> UInt64? {
        var value: UInt64 = 0
        for _ in 0..<8 {
            guard offset < bytes.count else { return nil }
            let byte = bytes[offset]
            offset += 1
            value = value << 7 | UInt64(byte & 0x7F)
            if byte < 0x80 { return value }
        }
        guard offset < bytes.count else { return nil }
        value = value << 8 | UInt64(bytes[offset])
        offset += 1
        return value
    }
}
