import NIOCore

/// The server's inbound decoder: bytes from a client → `ClientMessage`.
///
/// Besides the frame rules it enforces the two conversation rules that need no server state:
/// the first frame is checked against the smaller pre-HELLO limit (MAX_HELLO_FRAME) and must be
/// HELLO, and HELLO never comes twice. Everything else about states is the server's business.
///
/// Fatal errors are thrown as `ProtocolError` (ByteToMessageHandler fires them down the pipeline,
/// where the server answers with ERROR and closes). The only non-fatal decoding error, a PUSH
/// whose count is outside 1...10,000 (REQUEST_TOO_LARGE), cannot travel that way: an error ends
/// an NIOAsyncChannel's inbound stream. So this decoder answers it itself with a non-fatal ERROR
/// frame, drops the PUSH and carries on, exactly as §4.2 wants ("the connection returns to
/// READY"); it also fires `ArticleSyncRequestRejected` as a user event for handlers that log it.
/// That answer is written as encoded bytes, so no `ServerMessage` encoder may sit between this
/// decoder and the head of the pipeline (`addArticleSyncServerCodec` orders them so).
public struct ClientMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ClientMessage

    private var frames: FrameDecoder
    private let rejectsTLSHandshake: Bool
    private var sawHello = false

    /// - Parameters:
    ///   - maxFrameLength: the frame limit after HELLO (announced in WELCOME).
    ///   - maxHelloFrameLength: the frame limit before HELLO.
    ///   - rejectsTLSHandshake: answer a connection whose first byte is 0x16 (a TLS handshake record)
    ///     with MALFORMED_FRAME "this server does not speak TLS" (§10). Turn off when the codec runs
    ///     behind a TLS handler.
    public init(
        maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength,
        maxHelloFrameLength: UInt32 = ProtocolLimits.maxHelloFrameLength,
        rejectsTLSHandshake: Bool = true
    ) {
        self.frames = FrameDecoder(maxFrameLength: maxFrameLength, maxFirstFrameLength: maxHelloFrameLength)
        self.rejectsTLSHandshake = rejectsTLSHandshake
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let message: ClientMessage?
        do {
            message = try decodeMessage(buffer: &buffer)
        } catch {
            guard !error.isFatal else { throw error }
            var answer = context.channel.allocator.buffer(capacity: 64)
            ServerMessage.error(error.errorMessage).encode(into: &answer)
            context.writeAndFlush(NIOAny(answer), promise: nil)
            context.fireUserInboundEventTriggered(ArticleSyncRequestRejected(error: error))
            return .continue
        }
        guard let message else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        let state = try decode(context: context, buffer: &buffer)
        if state == .needMoreData && seenEOF && buffer.readableBytes > 0 {
            throw ProtocolError.malformed(
                "the connection ended inside a frame (\(buffer.readableBytes) bytes of an incomplete frame)")
        }
        return state
    }

    /// One step of decoding with the error type spelled out; nil means "need more bytes".
    /// A non-fatal error leaves the decoder ready for the next frame.
    public mutating func decodeMessage(buffer: inout ByteBuffer) throws(ProtocolError) -> ClientMessage? {
        if rejectsTLSHandshake && !sawHello, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 0x16 {
            throw .malformed("this server does not speak TLS (the connection opened with a TLS handshake record)")
        }
        guard let frame = try frames.decodeFrame(buffer: &buffer) else { return nil }
        switch (frame.type, sawHello) {
        case (.hello, true):
            throw ProtocolError(.unexpectedMessage, "HELLO was already sent on this connection")
        case (.hello, false):
            sawHello = true
        case (_, false):
            throw ProtocolError(.unexpectedMessage, "the first message must be HELLO, not \(frame.type.name)")
        case (_, true):
            break
        }
        return try ClientMessage(frame: frame)
    }
}

/// Fired as a user inbound event when `ClientMessageDecoder` answered a request itself with a
/// non-fatal ERROR (REQUEST_TOO_LARGE) and dropped it.
public struct ArticleSyncRequestRejected: Hashable, Sendable {
    public var error: ProtocolError
}
