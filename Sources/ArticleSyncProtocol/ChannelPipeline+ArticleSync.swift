import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Adds the server side of the codec: inbound `ClientMessage`, outbound `ServerMessage`, ready for
    /// `NIOAsyncChannel<ClientMessage, ServerMessage>`. A fatal decoding error reaches the inbound
    /// stream as a `ProtocolError`; answer it with `ServerMessage.error(error.errorMessage)` and close.
    ///
    /// - Parameters:
    ///   - maxFrameLength: the frame limit once HELLO is through (announce it in WELCOME).
    ///   - maxHelloFrameLength: the frame limit before HELLO.
    ///   - rejectsTLSHandshake: refuse a first byte of 0x16 (§10); pass false behind a TLS handler.
    public func addArticleSyncServerCodec(
        maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength,
        maxHelloFrameLength: UInt32 = ProtocolLimits.maxHelloFrameLength,
        rejectsTLSHandshake: Bool = true
    ) throws {
        // The decoder sits nearer the head than the encoder: its own non-fatal answers are bytes that
        // must not pass through the ServerMessage encoder.
        try addHandler(
            ByteToMessageHandler(
                ClientMessageDecoder(
                    maxFrameLength: maxFrameLength, maxHelloFrameLength: maxHelloFrameLength,
                    rejectsTLSHandshake: rejectsTLSHandshake)))
        // Without a desired capacity the encoder keeps its largest buffer (a whole BATCH) for the
        // life of the connection: half a megabyte per idle client.
        try addHandler(MessageToByteHandler(ServerMessageEncoder(), desiredBufferCapacity: 4_096))
    }

    /// Adds the client side of the codec: inbound `ServerMessage`, outbound `ClientMessage`, ready for
    /// `NIOAsyncChannel<ServerMessage, ClientMessage>`. Decoding errors reach the inbound stream as
    /// `ProtocolError`s (all fatal for a client).
    ///
    /// - Parameters:
    ///   - maxFrameLength: the largest frame accepted from the server.
    ///   - compressesPush: send PUSH frames zlib-compressed (§3.1).
    public func addArticleSyncClientCodec(
        maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength,
        compressesPush: Bool = true
    ) throws {
        try addHandler(ByteToMessageHandler(ServerMessageDecoder(maxFrameLength: maxFrameLength)))
        try addHandler(MessageToByteHandler(ClientMessageEncoder(compressesPush: compressesPush)))
    }
}
