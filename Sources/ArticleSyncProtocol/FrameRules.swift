/// What a receiver accepts of the next frame (PROTOCOL.md §3, §9). The decoders only apply these
/// rules; which rules are in force is decided by the conversation (the server's state machine).
public struct FrameRules: Sendable, Hashable {
    /// The largest `length` accepted.
    public var maxFrameLength: UInt32
    /// The largest `inflatedLength` of a compressed frame.
    public var maxInflatedLength: UInt32
    /// False before WELCOME: an unauthenticated peer cannot make the server inflate anything.
    public var acceptsCompressed: Bool
    /// A first byte of 0x16 is a TLS handshake record, answered "this server does not speak TLS"
    /// instead of being read as a huge `length` (§10). Only while no frame has arrived yet.
    public var refusesTLSRecord: Bool

    public init(maxFrameLength: UInt32, maxInflatedLength: UInt32, acceptsCompressed: Bool, refusesTLSRecord: Bool = false) {
        self.maxFrameLength = maxFrameLength
        self.maxInflatedLength = maxInflatedLength
        self.acceptsCompressed = acceptsCompressed
        self.refusesTLSRecord = refusesTLSRecord
    }

    /// What a client accepts from a server: every frame up to the limits of §9, or the client's
    /// own lower ones (a frame a server never needs to send is memory it need not hold).
    public static func fromServer(
        maxFrameLength: UInt32 = ProtocolLimits.maxFrameLength, maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength
    ) -> FrameRules {
        FrameRules(maxFrameLength: maxFrameLength, maxInflatedLength: maxInflatedLength, acceptsCompressed: true)
    }

    /// What a server accepts before WELCOME (§4.1): MAX_HELLO_FRAME, nothing compressed.
    public static func handshake(refusesTLSRecord: Bool) -> FrameRules {
        FrameRules(
            maxFrameLength: ProtocolLimits.maxHelloFrameLength, maxInflatedLength: 0, acceptsCompressed: false,
            refusesTLSRecord: refusesTLSRecord)
    }

    /// What a server accepts on a READ connection: no READ request comes near MAX_HELLO_FRAME, so
    /// neither its frame nor its inflated payload may exceed it.
    public static let readSession = FrameRules(
        maxFrameLength: ProtocolLimits.maxHelloFrameLength, maxInflatedLength: ProtocolLimits.maxHelloFrameLength,
        acceptsCompressed: true)

    /// What a server accepts on a WRITE connection: PUSH frames up to the announced limit.
    public static func writeSession(maxFrameLength: UInt32, maxInflatedLength: UInt32 = ProtocolLimits.maxInflatedLength) -> FrameRules {
        FrameRules(maxFrameLength: maxFrameLength, maxInflatedLength: maxInflatedLength, acceptsCompressed: true)
    }
}
