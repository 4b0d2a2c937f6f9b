import NIOCore

/// Pure entry points for fuzzers: arbitrary bytes through the frame decoder and the message decoders
/// of one direction, exactly as a connection would see them, without NIO channels.
///
/// They never trap, and memory stays bounded by the input: a frame is only decoded once all its
/// bytes are in the input, and a compressed frame may inflate to at most 1032 × its own size
/// (`Frame.maxDeflateRatio`). `ProtocolError`s are expected and swallowed.
public enum WireFuzzing {
    /// Decodes `bytes` as a client's stream (what a server reads): the first frame under the rules
    /// before WELCOME, the rest under those of a WRITE connection, the most a server accepts. Returns
    /// the messages decoded before the stream ended or broke a frame rule.
    @discardableResult
    public static func decodeClientStream(_ bytes: [UInt8]) -> [ClientMessage] {
        var buffer = ByteBuffer(bytes: bytes)
        var rules = FrameRules.handshake(refusesTLSRecord: true)
        var messages = [ClientMessage]()
        while buffer.readableBytes > 0 {
            // A broken frame rule ends the stream, as on a connection.
            guard let frame = try? FrameDecoder.split(&buffer, rules: rules) else { break }
            rules = .writeSession(maxFrameLength: ProtocolLimits.maxFrameLength)
            // A bad payload consumed its frame: the next one is still in step.
            if let message = try? ClientMessage(frame: frame.inflated(maxInflatedLength: rules.maxInflatedLength)) {
                messages.append(message)
            }
        }
        return messages
    }

    /// Decodes `bytes` as a server's stream (what a client reads).
    @discardableResult
    public static func decodeServerStream(_ bytes: [UInt8]) -> [ServerMessage] {
        var buffer = ByteBuffer(bytes: bytes)
        var decoder = ServerMessageDecoder()
        var messages = [ServerMessage]()
        while buffer.readableBytes > 0 {
            do {
                guard let message = try decoder.decodeMessage(buffer: &buffer) else { break }
                messages.append(message)
            } catch {
                break
            }
        }
        return messages
    }
}
