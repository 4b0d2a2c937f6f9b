import NIOCore

/// One frame of PROTOCOL.md §3, as handed from the frame layer to the message decoders.
///
/// When the frame travelled compressed, `payload` holds the inflated bytes and `flags` still contains
/// `.compressed`, so a receiver can tell (for logs and tests) how the frame arrived.
public struct Frame: Hashable, Sendable {
    public var type: MessageType
    public var flags: FrameFlags
    public var payload: ByteBuffer

    public init(type: MessageType, flags: FrameFlags = [], payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.payload = payload
    }

    public var wasCompressed: Bool { flags.contains(.compressed) }
}

/// The frame's `flags` byte (PROTOCOL.md §3).
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let compressed = FrameFlags(rawValue: 0x01)
    /// Bits 1-7: a receiver refuses a frame with any of them set.
    public static let reserved = FrameFlags(rawValue: 0xFE)
}

extension Frame {
    /// Size of the `length` field that precedes every frame.
    public static let lengthFieldSize = 4
    /// `type` + `flags`: the smallest valid `length`.
    public static let headerSize = 2
}
