import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Fetches the certificate a TLS server presents, without trusting it: for the trust-on-first-use
/// prompt and for saying precisely why a certificate was refused (expired, unknown CA).
///
/// The probe aborts its handshake right after the certificate arrives, so it sends nothing else and
/// the server sees a failed handshake.
public enum CertificateProbe {
    public struct Presented: Sendable, Hashable {
        public var fingerprint: CertificateFingerprint
        /// Seconds since 1970.
        public var notValidBefore: Int
        public var notValidAfter: Int

        public func isValid(at now: Int) -> Bool {
            notValidBefore <= now && now <= notValidAfter
        }
    }

    public static func fetch(_ address: ServerAddress, timeout: Duration = .seconds(10)) async throws(ClientError) -> Presented {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([])
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ClientError(.failure, "cannot set up TLS: \(error)")
        }
        let seen = NIOLockedValueBox<Presented?>(nil)
        let hostname = ClientTLS.sniName(for: address.host)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(
                            context: context,
                            serverHostname: hostname,
                            customVerificationCallback: { chain, promise in
                                if let leaf = chain.first, let der = try? leaf.toDERBytes() {
                                    seen.withLockedValue {
                                        $0 = Presented(
                                            fingerprint: CertificateFingerprint(certificateDER: der),
                                            notValidBefore: Int(leaf.notValidBefore),
                                            notValidAfter: Int(leaf.notValidAfter)
                                        )
                                    }
                                }
                                promise.succeed(.failed)
                            }
                        )
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: address.host, port: address.port)
                .get()
        } catch {
            throw ClientError.unreachable(address, "\(error)")
        }
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        deadline.cancel()
        guard let presented = seen.withLockedValue({ $0 }) else {
            throw ClientError(
                .unavailable,
                "\(address) did not present a TLS certificate: it may not speak TLS (a server speaks TLS only when started with --tls-cert and --tls-key)"
            )
        }
        return presented
    }
}

extension ClientTLS {
    /// The name for SNI and name checks; IP literals go without (they are checked against the
    /// certificate's IP addresses) because SNI must not carry an address.
    static func sniName(for host: String) -> String? {
        if host.contains(":") { return nil }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { return nil }
        return host
    }
}

/// "2026-11-29 05:10 UTC" for seconds since 1970.
func utcDateText(_ seconds: Int) -> String {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)) UTC"
}
