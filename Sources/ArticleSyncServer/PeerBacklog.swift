import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Whether the kernel still holds bytes of ours that the peer has not acknowledged: data waiting for
/// the peer's receive window, or in flight. While it does, the peer is still receiving a response.
enum PeerBacklog {
    /// Calls `body` with the answer; right away when called on the channel's event loop. Channels that
    /// are not kernel sockets (tests' EmbeddedChannel) and other systems answer false.
    static func check(_ channel: any Channel, _ body: @escaping @Sendable (Bool) -> Void) {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return body(false) }
        provider.unsafeGetSocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: TCP_INFO))
            .whenComplete { (result: Result<KernelTCPInfo, any Error>) in
                switch result {
                case .success(let info): body(info.unacknowledgedSegments > 0 || info.unsentBytes > 0)
                case .failure: body(false)
                }
            }
        #else
        body(false)
        #endif
    }
}

#if os(Linux)
/// The kernel's `struct tcp_info` (linux/tcp.h), which is longer than glibc's: glibc's stops before
/// `tcpi_notsent_bytes`. Kernels older than 4.6 fill in less; the rest stays zero.
struct KernelTCPInfo: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    init() {}

    private func uint32(at offset: Int) -> UInt32 {
        withUnsafeBytes(of: words) { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    /// `tcpi_unacked`: segments sent and not yet acknowledged.
    var unacknowledgedSegments: UInt32 { uint32(at: 24) }
    /// `tcpi_notsent_bytes`: bytes queued but not sent, for example while the peer's window is closed.
    var unsentBytes: UInt32 { uint32(at: 144) }
}
#endif
