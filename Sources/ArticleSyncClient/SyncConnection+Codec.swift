import ArticleSyncProtocol
import NIOCore

extension SyncConnection {
    /// Frames and messages of PROTOCOL.md: the codec module's client pipeline.
    static func installCodec(on channel: any Channel, compressPushes: Bool) throws {
        try channel.pipeline.syncOperations.addArticleSyncClientCodec(
            maxFrameLength: UInt32(largestServerFrame), maxInflatedLength: UInt32(largestServerPayload),
            compressesPush: compressPushes)
    }

    /// The largest payload a server sends: a BATCH fills at most the budget (clamped to 8 MiB,
    /// §5.3) unless it holds one change, whose document is at most `ChangeDecoder.largestDocument`
    /// (its `data` a little more, when zlib could not shrink it); every other message is far
    /// smaller. §9 lets a frame be 16 MiB and inflate to 64 MiB, but a client that accepted those
    /// would hold 128 MB (the inflated bytes and their copy) on a server's word alone: a larger
    /// frame is bad data (65), refused before it is read or inflated.
    static let largestServerPayload = max(
        8_388_608,
        8 + 8 + 4  // BATCH: fromRevision, toRevision, count
            + 1 + 8 + 1 + 255 + 2 + 4_096 + 32 + 1 + 32 + 4 + 4  // one change's fields at their largest, sourcePath too
            + deflateBound(ChangeDecoder.largestDocument))

    /// A frame of that payload: type and flags, and compressed, inflatedLength and the payload's
    /// zlib stream, which may be a little longer than the payload itself.
    static let largestServerFrame = 2 + 4 + deflateBound(largestServerPayload)

    /// zlib's `compressBound`: the longest stream deflate makes of `length` bytes.
    static func deflateBound(_ length: Int) -> Int {
        length + (length >> 12) + (length >> 14) + (length >> 25) + 13
    }
}
