import Foundation

/// A TCP proxy on 127.0.0.1 that forwards one connection at a time to `upstreamPort` and drops
/// both sides after `cutAfter` bytes from the server (nil: never), mid-frame wherever that falls.
final class CuttingProxy: Sendable {
    let port: Int
    private let listener: Int32

    init(upstreamPort: Int, cutAfter: Int?) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("proxy cannot listen: errno \(errno)") }
        port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = listener
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                guard let upstream = try? RawPeer(port: upstreamPort) else { close(client); continue }
                Self.pump(client: client, upstream: upstream, cutAfter: cutAfter)
            }
        }.start()
    }

    /// Forwards both ways with poll until either side closes or the byte budget is spent.
    private static func pump(client: Int32, upstream: RawPeer, cutAfter: Int?) {
        var fromServer = 0
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: upstream.fd, events: Int16(POLLIN), revents: 0)]
        loop: while poll(&fds, 2, 30_000) > 0 {
            for index in 0..<2 where fds[index].revents != 0 {
                let source = fds[index].fd, target = index == 0 ? upstream.fd : client
                var want = buffer.count
                if index == 1, let cutAfter { want = min(want, cutAfter - fromServer) }
                let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, want, 0) }
                if count <= 0 { break loop }
                _ = buffer.withUnsafeBytes { send(target, $0.baseAddress, count, Int32(MSG_NOSIGNAL)) }
                if index == 1 {
                    fromServer += count
                    if let cutAfter, fromServer >= cutAfter { break loop }
                }
            }
        }
        // An abortive close (RST), as when a middlebox drops the connection.
        var hard = linger(l_onoff: 1, l_linger: 0)
        setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, socklen_t(MemoryLayout<linger>.size))
        close(client)
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
