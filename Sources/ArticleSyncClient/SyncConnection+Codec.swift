import ArticleSyncProtocol
import NIOCore

extension SyncConnection {
    /// Frames and messages of PROTOCOL.md: the codec module's client pipeline.
    static func installCodec(on channel: any Channel, compressPushes: Bool) throws {
        try channel.pipeline.syncOperations.addArticleSyncClientCodec(compressesPush: compressPushes)
    }
}
