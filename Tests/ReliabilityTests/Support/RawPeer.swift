import Foundation

/// A plain blocking TCP socket to 127.0.0.1 that can misbehave at will: write any bytes, stall,
/// never read. Closed on deinit. Its calls block: tests make them through `onDedicatedThread`, and a
/// peer is used by one thread at a time.
final class RawPeer: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
    }

    deinit { close(fd) }

    /// Shrinks the receive buffer so a peer that never reads pushes back after a few KiB.
    func setReceiveBuffer(_ bytes: Int32) {
        var value = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Writes all bytes; returns false when the server has closed the connection (EPIPE/ECONNRESET).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Reads until the server closes the connection or `timeout` passes. `closed` is false on timeout.
    func readUntilClosed(timeout: Duration) -> (bytes: [UInt8], closed: Bool) {
        var collected = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = deadline - ContinuousClock.now
            let millis = Int32(max(1, min(1_000, left.components.seconds * 1_000 + left.components.attoseconds / 1_000_000_000_000_000)))
            guard poll(&poller, 1, millis) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (collected, true) }
            collected += buffer[0..<count]
        }
        return (collected, false)
    }

    /// Reads exactly `count` bytes (or fewer if the server closes first / the timeout passes).
    func read(_ count: Int, timeout: Duration = .seconds(10)) -> [UInt8] {
        var collected = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: count)
        let deadline = ContinuousClock.now + timeout
        while collected.count < count, ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - collected.count, 0) }
            if got <= 0 { break }
            collected += buffer[0..<got]
        }
        return collected
    }

    /// Reads one whole frame (length prefix, type, flags, payload).
    func readFrame(timeout: Duration = .seconds(10)) -> (type: UInt8, payload: [UInt8])? {
        let header = read(4, timeout: timeout)
        guard header.count == 4 else { return nil }
        let length = Int(header.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) })
        let body = read(length, timeout: timeout)
        guard body.count == length, length >= 2 else { return nil }
        return (body[0], Array(body[2...]))
    }
}

/// Frames built by hand, byte for byte as PROTOCOL.md §3 and §5 lay them out.
enum Wire {
    static func frame(type: UInt8, flags: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
        u32(UInt32(payload.count + 2)) + [type, flags] + payload
    }

    static func u16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
    static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
    static func u64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    static func hello(minVersion: UInt16 = 1, maxVersion: UInt16 = 1) -> [UInt8] {
        let agent = Array("hostile/1".utf8)
        let payload = Array("ASYN".utf8) + u16(minVersion) + u16(maxVersion) + u64(0) + u16(0) + [UInt8(agent.count)] + agent
        return frame(type: 0x01, payload: payload)
    }

    /// PULL with no store id from revision 0 (bootstrap), answer now.
    static func pullBootstrap(budget: UInt32 = 4_096) -> [UInt8] {
        frame(type: 0x02, payload: [UInt8](repeating: 0, count: 16) + u64(0) + u32(budget) + u32(0) + [0])
    }

    /// The ERROR code in the first ERROR frame of `bytes`, if the bytes start with one.
    static func firstErrorCode(_ bytes: [UInt8]) -> UInt16? {
        var offset = 0
        while bytes.count >= offset + 6 {
            let length = Int(UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3]))
            if bytes[offset + 4] == 0x7F, bytes.count >= offset + 8 {
                return UInt16(bytes[offset + 6]) << 8 | UInt16(bytes[offset + 7])
            }
            offset += 4 + length
        }
        return nil
    }
}
