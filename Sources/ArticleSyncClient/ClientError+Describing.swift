import ArticleSyncProtocol
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ClientError {
    /// Wraps whatever a connection threw into a sentence; ClientErrors pass through unchanged.
    static func describing(_ error: any Error, address: ServerAddress) -> ClientError {
        if let error = error as? ClientError { return error }
        if error is ReadTimeoutHandler.Timeout {
            return .connectionLost(address, "the server stopped answering")
        }
        if let error = error as? ReadTimeoutHandler.FrameTooSlow {
            return .connectionLost(address, error.description)
        }
        if let error = error as? IOError {
            return .connectionLost(address, errnoText(error.errnoCode))
        }
        if let error = error as? ChannelError, error == .ioOnClosedChannel || error == .alreadyClosed || error == .outputClosed {
            return .connectionLost(address, "the server closed the connection")
        }
        if let error = error as? ProtocolError {
            return .protocolViolation(error.description)
        }
        return .connectionLost(address, "\(error)")
    }
}

/// "connection refused", "host not found", … for a failed connect.
func describeConnectFailure(_ error: any Error) -> String {
    if let error = error as? NIOConnectionError {
        if let failure = error.connectionErrors.first {
            return describeConnectFailure(failure.error)
        }
        if error.dnsAError != nil || error.dnsAAAAError != nil {
            return "host not found"
        }
        return "no address to connect to"
    }
    if let error = error as? IOError {
        return errnoText(error.errnoCode)
    }
    if let error = error as? ChannelError, case .connectTimeout = error {
        return "connection timed out"
    }
    if "\(type(of: error))".contains("Resolver") || "\(error)".contains("getaddrinfo") {
        return "host not found"
    }
    return "\(error)"
}

func errnoText(_ code: Int32) -> String {
    switch code {
    case ECONNREFUSED: return "connection refused"
    case ECONNRESET: return "connection reset by the server"
    case ETIMEDOUT: return "connection timed out"
    case EHOSTUNREACH: return "host unreachable"
    case ENETUNREACH: return "network unreachable"
    case EPIPE: return "the server closed the connection"
    default: return String(cString: strerror(code)).lowercased()
    }
}
