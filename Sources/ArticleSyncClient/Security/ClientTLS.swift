import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The client's TLS set-up for one server (PROTOCOL.md §10): a TLS context made once, and per
/// connection a `TLSAttempt` that adds the handshake handler to a new channel.
public final class ClientTLS: Sendable {
    public let trust: ServerTrust
    public let address: ServerAddress
    let context: NIOSSLContext

    /// Makes the TLS context. This reads the CA file or the system trust store: do it once per
    /// process and server, not per connection, and never on an event loop.
    public init(trust: ServerTrust, address: ServerAddress) throws(ClientError) {
        self.trust = trust
        self.address = address
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch trust {
        case .certificateAuthorities(let caFile?):
            guard access(caFile, R_OK) == 0 else {
                throw ClientError(.usage, "cannot read the CA file \(caFile): \(String(cString: strerror(errno)).lowercased())")
            }
            configuration.trustRoots = .file(caFile)
            configuration.certificateVerification = .fullVerification
        case .certificateAuthorities(nil):
            configuration.trustRoots = .default
            configuration.certificateVerification = .fullVerification
        case .pinned:
            // The pin replaces chain and name checks (the custom callback below does the checking);
            // `.none` would skip the callback altogether.
            configuration.certificateVerification = .noHostnameVerification
            // No CA is consulted: skip loading the system trust store.
            configuration.trustRoots = .certificates([])
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            if case .certificateAuthorities(let caFile?) = trust {
                throw ClientError(.usage, "cannot use the CA file \(caFile): it must hold PEM certificates (\(error))")
            }
            throw ClientError(.failure, "cannot set up TLS: \(error)")
        }
    }

    /// A new attempt: one per connection.
    public func makeAttempt() -> TLSAttempt {
        TLSAttempt(tls: self)
    }

    var serverHostname: String? { Self.sniName(for: address.host) }
}

/// One TLS connection attempt: installs the client handler and records why the handshake failed.
public final class TLSAttempt: Sendable {
    public let tls: ClientTLS
    private let recorded = NIOLockedValueBox<TLSFailure?>(nil)

    init(tls: ClientTLS) {
        self.tls = tls
    }

    /// What went wrong in the handshake, once the connection has failed; nil if nothing was seen.
    public var failure: TLSFailure? { recorded.withLockedValue { $0 } }

    /// Adds the TLS handler (and a recorder of its failures) at the front of `channel`'s pipeline.
    /// Call from the bootstrap's channel initializer, before the protocol handlers.
    public func installHandlers(on channel: any Channel) throws {
        let handler: NIOSSLClientHandler
        switch tls.trust {
        case .pinned(let pin, _):
            let recorded = self.recorded
            handler = try NIOSSLClientHandler(
                context: tls.context,
                serverHostname: tls.serverHostname,
                customVerificationCallback: { chain, promise in
                    promise.succeed(Self.verify(chain: chain, pin: pin, now: time(nil), record: recorded))
                }
            )
        case .certificateAuthorities:
            handler = try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname)
        }
        try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        try channel.pipeline.syncOperations.addHandler(PlainRefusalSniffer(record: recorded), position: .first)
        try channel.pipeline.syncOperations.addHandler(
            TLSFailureRecorder(record: recorded),
            position: .after(handler)
        )
    }

    static func verify(
        chain: [NIOSSLCertificate],
        pin: CertificateFingerprint,
        now: time_t,
        record: NIOLockedValueBox<TLSFailure?>
    ) -> NIOSSLVerificationResult {
        guard let leaf = chain.first, let der = try? leaf.toDERBytes() else {
            record.withLockedValue { $0 = .handshake(detail: "the server presented no certificate") }
            return .failed
        }
        let presented = CertificateFingerprint(certificateDER: der)
        // Compared in full whatever the bytes: the pin is public, but there is no reason to leak more.
        var difference: UInt8 = 0
        for (a, b) in zip(presented.bytes, pin.bytes) { difference |= a ^ b }
        guard difference == 0 else {
            record.withLockedValue { $0 = .pinMismatch(presented: presented) }
            return .failed
        }
        if now > leaf.notValidAfter {
            record.withLockedValue { $0 = .expired(notValidAfter: Int(leaf.notValidAfter)) }
            return .failed
        }
        if now < leaf.notValidBefore {
            record.withLockedValue { $0 = .notYetValid(notValidBefore: Int(leaf.notValidBefore)) }
            return .failed
        }
        return .certificateVerified
    }
}

/// Sits right after the TLS handler and notes the first TLS error that passes, then forwards it.
final class TLSFailureRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let record: NIOLockedValueBox<TLSFailure?>

    init(record: NIOLockedValueBox<TLSFailure?>) {
        self.record = record
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: TLSFailure?
        switch error {
        case let extra as NIOSSLExtraError where extra == .failedToValidateHostname:
            failure = .hostnameMismatch(expected: "\(extra)")
        case NIOSSLError.handshakeFailed(let underlying):
            let text = "\(underlying)"
            failure = text.contains("CERTIFICATE_VERIFY_FAILED") ? .untrusted(detail: text) : .handshake(detail: text)
        case let error as NIOSSLError:
            failure = .handshake(detail: "\(error)")
        default:
            failure = nil
        }
        if let failure {
            // The verification callback's finding (pin mismatch, expiry) is the more precise one.
            record.withLockedValue { if $0 == nil { $0 = failure } }
        }
        context.fireErrorCaught(error)
    }
}
