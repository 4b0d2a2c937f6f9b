import NIOCore

/// Pure entry points for fuzzers: arbitrary bytes through the frame reader (or the client's frame
/// decoder) and the message decoders of one direction, as a connection would see them, without NIO
/// channels.
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
        var reader = FrameReader()
        reader.append(ByteBuffer(bytes: bytes))
        var rules = FrameRules.handshake(refusesTLSRecord: true)
        var messages = [ClientMessage]()
        reading: while true {
            // A broken frame rule ends the stream, as on a connection.
            guard let next = try? reader.next(rules: rules) else { break }
            switch next {
            case .needMoreBytes:
                break reading
            case .announced:
                continue
            case .frame(let frame):
                rules = .writeSession(maxFrameLength: ProtocolLimits.maxFrameLength)
                // A bad payload consumed its frame: the next one is still in step.
                if let message = try? ClientMessage(frame: frame.inflated(maxInflatedLength: rules.maxInflatedLength)) {
                    messages.append(message)
                }
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
