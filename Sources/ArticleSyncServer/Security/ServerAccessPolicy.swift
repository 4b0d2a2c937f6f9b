/// The start-up rules of PROTOCOL.md §10: who may use a server, decided from how it was started.
public enum ServerAccessPolicy {
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Checks the combination of listening host, token file, TLS and `--insecure-open`; throws a
    /// sentence for the operator when the server must not start, returns warnings to log otherwise.
    public static func check(
        host: String,
        tokenFile: String?,
        tlsEnabled: Bool,
        insecureOpen: Bool
    ) throws(Refusal) -> [String] {
        let loopback = LoopbackAddress.contains(host: host)
        var warnings = [String]()
        if tokenFile == nil, !loopback {
            guard insecureOpen else {
                throw Refusal(
                    description: "refusing to serve \(host) without access tokens: anyone who can reach it could read the archive. Pass --tokens PATH (make one with `articlesyncd token add`), listen on 127.0.0.1, or pass --insecure-open to serve read-only to everyone."
                )
            }
            warnings.append("serving read-only to ANYONE who can reach \(host) (--insecure-open)")
        }
        if tokenFile != nil, !tlsEnabled, !loopback {
            warnings.append(
                "tokens are configured but TLS is not: clients on other hosts will be refused with TLS_REQUIRED; add --tls-cert and --tls-key"
            )
        }
        return warnings
    }
}
