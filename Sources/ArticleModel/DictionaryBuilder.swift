/// Builds a zlib preset dictionary (at most 32 KiB, PROTOCOL.md §7.3) from sample documents.
///
/// A simplified form of zstd's COVER algorithm: every d-byte substring ("d-mer") is scored by the
/// number of samples it occurs in; the input is cut into one epoch per wanted segment, and in each
/// epoch the k-byte segment with the highest sum of scores is kept, after which its d-mers score
/// nothing (so later epochs bring new material). Segments are laid out by score, the best LAST,
/// because zlib reaches the end of the dictionary with the shortest distances.
public enum DictionaryBuilder {
    public static let defaultSegmentLength = 128
    public static let defaultDmerLength = 8

    public static func build(
        samples: [[UInt8]],
        maxSize: Int = ArticleCompression.maxDictionaryLength,
        segmentLength k: Int = defaultSegmentLength,
        dmerLength d: Int = defaultDmerLength
    ) -> [UInt8] {
        precondition(d >= 4 && d <= 8 && k > d && maxSize > 0)
        let total = samples.reduce(0) { $0 + $1.count }
        if total <= maxSize {
            return samples.reversed().flatMap { $0 }
        }

        let tableBits = 20
        let tableSize = 1 << tableBits
        let mask: UInt64 = d == 8 ? .max : (1 << UInt64(d * 8)) - 1
        @inline(__always) func bucket(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> Int {
            var value: UInt64 = 0
            for offset in 0..<d { value |= UInt64(bytes[at + offset]) << UInt64(offset * 8) }
            value &= mask
            return Int(truncatingIfNeeded: (value &* 0x9E37_79B1_85EB_CA87) >> UInt64(64 - tableBits))
        }

        // Document frequency of every d-mer (hash buckets; rare collisions only blur scores).
        var frequency = [UInt32](repeating: 0, count: tableSize)
        var lastSample = [Int32](repeating: -1, count: tableSize)
        for (sampleIndex, sample) in samples.enumerated() where sample.count >= d {
            sample.withUnsafeBufferPointer { bytes in
                for position in 0...(bytes.count - d) {
                    let slot = bucket(bytes, position)
                    if lastSample[slot] != Int32(sampleIndex) {
                        lastSample[slot] = Int32(sampleIndex)
                        frequency[slot] &+= 1
                    }
                }
            }
        }
        // A d-mer seen in one sample only is no help to any other article.
        for slot in 0..<tableSize where frequency[slot] < 2 { frequency[slot] = 0 }

        // The samples as one buffer; a segment may straddle two samples, which costs a few bytes.
        var data: [UInt8] = []
        data.reserveCapacity(total)
        for sample in samples { data.append(contentsOf: sample) }

        struct Segment { var start: Int; var score: UInt64 }
        var segments: [Segment] = []
        let segmentCount = max(1, maxSize / k)
        let epochLength = max(k, data.count / segmentCount)
        data.withUnsafeBufferPointer { bytes in
            var epochStart = 0
            while epochStart + k <= bytes.count {
                let epochEnd = min(bytes.count, epochStart + epochLength)
                let windowDmers = k - d + 1
                var best = Segment(start: epochStart, score: 0)
                var score: UInt64 = 0
                var position = epochStart
                // Sliding sum over the d-mers starting in [position, position + windowDmers).
                for offset in 0..<windowDmers { score += UInt64(frequency[bucket(bytes, position + offset)]) }
                while true {
                    if score > best.score { best = Segment(start: position, score: score) }
                    let next = position + 1
                    if next + k > epochEnd { break }
                    score -= UInt64(frequency[bucket(bytes, position)])
                    score += UInt64(frequency[bucket(bytes, next + windowDmers - 1)])
                    position = next
                }
                if best.score > 0 {
                    segments.append(best)
                    for offset in 0..<windowDmers { frequency[bucket(bytes, best.start + offset)] = 0 }
                }
                epochStart = epochEnd
            }
        }

        segments.sort { $0.score < $1.score }
        var dictionary: [UInt8] = []
        dictionary.reserveCapacity(segments.count * k)
        for segment in segments { dictionary.append(contentsOf: data[segment.start..<segment.start + k]) }
        if dictionary.count > maxSize { dictionary.removeFirst(dictionary.count - maxSize) }
        return dictionary
    }
}
