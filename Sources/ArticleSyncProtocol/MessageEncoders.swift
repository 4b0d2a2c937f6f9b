import NIOCore

/// The server's outbound encoder: `ServerMessage` → one uncompressed frame each (§3.1: articles
/// are compressed individually, so compressing whole frames would only cost time).
public struct ServerMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ServerMessage

    public init() {}

    public func encode(data: ServerMessage, out: inout ByteBuffer) {
        data.encode(into: &out)
    }
}

/// The client's outbound encoder: `ClientMessage` → one frame each. PUSH frames carry article
/// sources as plain text, so they are compressed when `compressesPush` is set; everything else is
/// a few bytes and travels uncompressed.
public struct ClientMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ClientMessage

    public var compressesPush: Bool

    public init(compressesPush: Bool = true) {
        self.compressesPush = compressesPush
    }

    public func encode(data: ClientMessage, out: inout ByteBuffer) {
        if case .push = data {
            data.encode(into: &out, compress: compressesPush)
        } else {
            data.encode(into: &out)
        }
    }
}
