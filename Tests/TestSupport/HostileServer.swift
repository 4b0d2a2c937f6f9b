import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A server that speaks just enough of PROTOCOL.md to lead a real client on, then sends whatever a
/// test scripts: any bytes, at any pace. It listens on 127.0.0.1 (port 0) and runs the script once
/// per connection, each on a thread of its own (raw blocking sockets never sit on Swift's
/// cooperative pool, see `onDedicatedThread`).
public final class HostileServer: @unchecked Sendable {
    // @unchecked: the listener and threads are set up in init; everything shared later is behind `state`.
    public let port: Int
    private let listener: Int32
    private let state = Mutex(State())
    private let threads = DispatchGroup()

    private struct State {
        var open: [Int: Int32] = [:]
        var accepted = 0
        var stopped = false
    }

    /// Starts listening; `script` gets each accepted connection and may block as long as it likes
    /// (it ends when the peer closes, or at `stop()`, which closes every connection).
    public init(_ script: @escaping @Sendable (HostileConnection) throws -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw TestFailure("cannot listen on 127.0.0.1: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        threads.enter()
        let acceptor = Thread { [self] in
            defer { threads.leave() }
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else {
                    if errno == EINTR { continue }
                    return  // the listener was shut down
                }
                let index: Int? = state.withLock { state in
                    guard !state.stopped else { return nil }
                    let index = state.accepted
                    state.accepted += 1
                    state.open[index] = client
                    return index
                }
                guard let index else {
                    close(client)
                    return
                }
                threads.enter()
                let worker = Thread { [self] in
                    defer { threads.leave() }
                    let connection = HostileConnection(fd: client, index: index, server: self)
                    try? script(connection)
                    state.withLock { _ = $0.open.removeValue(forKey: index) }
                    close(client)
                }
                worker.stackSize = 1 << 20
                worker.start()
            }
        }
        acceptor.stackSize = 1 << 20
        acceptor.start()
    }

    /// "127.0.0.1:PORT", for `--server`.
    public var address: String { "127.0.0.1:\(port)" }

    /// Connections accepted so far.
    public var connections: Int { state.withLock { $0.accepted } }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Closes the listener and every connection, and waits for the scripts to return.
    public func stop() {
        let open: [Int32] = state.withLock { state in
            guard !state.stopped else { return [] }
            state.stopped = true
            return Array(state.open.values)
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        threads.wait()
        close(listener)
    }
}

/// One accepted connection of a `HostileServer`. Its calls block; it belongs to its script's thread.
public final class HostileConnection: @unchecked Sendable {
    public let fd: Int32
    /// 0 for the first connection the server accepted, 1 for the next, …
    public let index: Int
    private unowned let server: HostileServer

    init(fd: Int32, index: Int, server: HostileServer) {
        self.fd = fd
        self.index = index
        self.server = server
    }

    /// True once the test stopped the server: a script that loops should return.
    public var isStopped: Bool { server.isStopped }

    /// Writes all bytes; false once the client has gone (or the server stopped).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Reads exactly `count` bytes, or fewer when the peer closes or `timeout` passes.
    public func read(_ count: Int, timeout: Duration = .seconds(10)) -> [UInt8] {
        var collected = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: min(count, 65_536))
        let deadline = ContinuousClock.now + timeout
        while collected.count < count, ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let wanted = min(buffer.count, count - collected.count)
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, wanted, 0) }
            if got <= 0 { break }
            collected += buffer[0..<got]
        }
        return collected
    }

    /// Reads one whole frame; nil when the peer closed or `timeout` passed first.
    public func readFrame(timeout: Duration = .seconds(10)) -> HostileFrame? {
        let header = read(4, timeout: timeout)
        guard header.count == 4 else { return nil }
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard length >= 2, length <= 64 << 20 else { return nil }
        let body = read(length, timeout: timeout)
        guard body.count == length else { return nil }
        return HostileFrame(type: body[0], flags: body[1], payload: Array(body[2...]))
    }

    /// Reads and discards until the peer closes (true) or `timeout` passes (false).
    @discardableResult
    public func drainUntilClosed(timeout: Duration = .seconds(30)) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got <= 0 { return true }
        }
        return false
    }

    /// Waits for HELLO and answers `welcome`; false when no HELLO came.
    @discardableResult
    public func handshake(_ welcome: [UInt8] = HostileWire.welcome()) -> Bool {
        guard readFrame()?.type == HostileWire.hello else { return false }
        return send(welcome)
    }

    /// Reads the next request, which must be of `type` (e.g. `HostileWire.pull`).
    public func expect(_ type: UInt8, timeout: Duration = .seconds(10)) -> HostileFrame? {
        guard let frame = readFrame(timeout: timeout), frame.type == type else { return nil }
        return frame
    }
}

public struct HostileFrame: Sendable {
    public var type: UInt8
    public var flags: UInt8
    public var payload: [UInt8]

    /// The big-endian u64 at `offset` of the payload (e.g. VERIFY's atRevision at 0).
    public func u64(at offset: Int) -> UInt64 {
        payload[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Server frames built by hand, byte for byte as PROTOCOL.md §3 and §5 lay them out, so a test can
/// also build the ones no honest encoder would.
public enum HostileWire {
    public static let hello: UInt8 = 0x01
    public static let pull: UInt8 = 0x02
    public static let verify: UInt8 = 0x04
    public static let pong: UInt8 = 0x11

    public static func frame(type: UInt8, flags: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
        u32(UInt32(payload.count + 2)) + [type, flags] + payload
    }

    public static func u16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
    public static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
    public static func u64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
    public static func str8(_ text: String) -> [UInt8] { [UInt8(text.utf8.count)] + Array(text.utf8) }
    public static func str16(_ text: String) -> [UInt8] { u16(UInt16(text.utf8.count)) + Array(text.utf8) }

    /// A store id of 16 bytes, all `byte`.
    public static func storeID(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 16) }

    /// WELCOME (0x81): version 1, no features, READ role.
    public static func welcome(
        storeID: [UInt8] = storeID(0xAB), head: UInt64 = 0, horizon: UInt64 = 0, maxFrameLength: UInt32 = 16_777_216
    ) -> [UInt8] {
        frame(
            type: 0x81,
            payload: u16(1) + u64(0) + storeID + u64(head) + u64(horizon) + u32(maxFrameLength) + [1] + str8("hostile/1"))
    }

    /// CAUGHT_UP (0x83).
    public static func caughtUp(_ head: UInt64) -> [UInt8] { frame(type: 0x83, payload: u64(head)) }

    /// SNAPSHOT_REQUIRED (0x84); reason 2 = STORE_MISMATCH.
    public static func snapshotRequired(
        reason: UInt8 = 2, storeID: [UInt8] = storeID(0xAB), head: UInt64, horizon: UInt64 = 0, message: String
    ) -> [UInt8] {
        frame(type: 0x84, payload: [reason] + storeID + u64(head) + u64(horizon) + str16(message))
    }

    /// VERIFY_RESULT (0x86); status 0 = OK.
    public static func verifyResult(status: UInt8 = 0, revision: UInt64, articleCount: UInt64, digest: [UInt8] = [UInt8](repeating: 0, count: 32)) -> [UInt8] {
        frame(type: 0x86, payload: [status] + u64(revision) + u64(articleCount) + digest)
    }

    /// ERROR (0x7F), e.g. code 9 AUTH_REQUIRED, 20 INTERNAL_ERROR.
    public static func error(code: UInt16, message: String) -> [UInt8] {
        frame(type: 0x7F, payload: u16(code) + str16(message))
    }

    /// PING (0x10).
    public static func ping(_ nonce: UInt64) -> [UInt8] { frame(type: 0x10, payload: u64(nonce)) }

    public static let getDictionary: UInt8 = 0x05

    /// A Change of kind ARTICLE (§5.4); encoding 0 RAW, 1 ZLIB, 2 DELTA (with `baseHash`).
    public static func article(
        revision: UInt64, id: String, contentHash: [UInt8], encoding: UInt8 = 1, baseHash: [UInt8] = [], documentLength: UInt32,
        data: [UInt8]
    ) -> [UInt8] {
        [1] + u64(revision) + str8(id) + contentHash + [encoding] + baseHash + u32(documentLength) + u32(UInt32(data.count)) + data
    }

    /// A Change of kind TOMBSTONE (§5.4).
    public static func tombstone(revision: UInt64, id: String) -> [UInt8] { [2] + u64(revision) + str8(id) }

    /// The payload of a BATCH (0x82) of `changes` (each from `article` or `tombstone`).
    public static func batchPayload(from: UInt64, to: UInt64, changes: [[UInt8]]) -> [UInt8] {
        var payload = u64(from) + u64(to) + u32(UInt32(changes.count))
        payload.reserveCapacity(payload.count + changes.reduce(0) { $0 + $1.count })
        for change in changes { payload += change }
        return payload
    }

    public static func batch(from: UInt64, to: UInt64, changes: [[UInt8]]) -> [UInt8] {
        frame(type: 0x82, payload: batchPayload(from: from, to: to, changes: changes))
    }

    /// A frame with COMPRESSED set (§3.1): `zlib`, which the caller deflated, inflates to a payload of
    /// `inflatedLength` bytes.
    public static func compressedFrame(type: UInt8, inflatedLength: UInt32, zlib: [UInt8]) -> [UInt8] {
        frame(type: type, flags: 0x01, payload: u32(inflatedLength) + zlib)
    }

    /// DICTIONARY (0x87).
    public static func dictionary(id: UInt32, bytes: [UInt8]) -> [UInt8] {
        frame(type: 0x87, payload: u32(id) + u32(UInt32(bytes.count)) + bytes)
    }
}

extension HostileFrame {
    /// PULL's sinceRevision (after its 16-byte store id).
    public var sinceRevision: UInt64 { u64(at: 16) }
}
