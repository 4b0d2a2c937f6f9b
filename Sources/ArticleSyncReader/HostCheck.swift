/// The DNS-rebinding guard: a page on some other site can make the browser resolve its own name to
/// 127.0.0.1 and then read our pages as its own origin. Such a request still names that site in
/// its Host header, so only the loopback names of the port we serve are answered.
public struct HostCheck: Sendable, Hashable {
    public let port: Int

    public init(port: Int) {
        self.port = port
    }

    /// The Host values we answer: 127.0.0.1:PORT and localhost:PORT (any case), nothing else.
    public func allows(_ hosts: [String]) -> Bool {
        guard hosts.count == 1 else { return false }
        let host = hosts[0].lowercased()
        return host == "127.0.0.1:\(port)" || host == "localhost:\(port)"
    }
}
