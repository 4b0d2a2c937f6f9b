import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Adds the client side of the codec: inbound `ServerMessage`, outbound `ClientMessage`, ready for
    /// `NIOAsyncChannel<ServerMessage, ClientMessage>`. Decoding errors reach the inbound stream as
    /// `ProtocolError`s (all fatal for a client).
    ///
    /// - Parameters:
    ///   - maxFrameLength: the largest frame accepted from the server.
    ///   - maxInflatedLength: the largest payload a compressed frame from the server may inflate to.
    ///   - compressesPush: send PUSH frames zlib-compressed (§3.1).
    public func addArticleSyncClientCodec(
        maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength,
        maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength,
        compressesPush: Bool = true
    ) throws {
        try addHandler(ByteToMessageHandler(ServerMessageDecoder(maxFrameLength: maxFrameLength, maxInflatedLength: maxInflatedLength)))
        try addHandler(MessageToByteHandler(ClientMessageEncoder(compressesPush: compressesPush)))
    }
}
