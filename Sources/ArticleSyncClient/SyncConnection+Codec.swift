import ArticleSyncProtocol
import NIOCore

extension SyncConnection {
    /// Frames and messages of PROTOCOL.md: the codec module's client pipeline.
    static func installCodec(on channel: any Channel, compressPushes: Bool) throws {
        // Filled in once the codec lands (addArticleSyncClientCodec).
        throw ChannelError.operationUnsupported
    }
}
