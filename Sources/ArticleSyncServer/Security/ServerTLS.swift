import NIOSSL

/// The server's TLS context (PROTOCOL.md §10): TLS 1.2 or 1.3 from the first byte of a connection.
public enum ServerTLS {
    public struct SetupError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A context from a PEM certificate chain (leaf first, intermediates after) and its PEM key.
    ///
    /// NIOSSLContext reads files and builds tables: make it once at start-up, never on an event loop.
    public static func makeContext(certificatePath: String, keyPath: String) throws(SetupError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw SetupError(description: "cannot load the TLS certificate \(certificatePath): \(reason(error)) (expected a PEM file)")
        }
        guard !chain.isEmpty else {
            throw SetupError(description: "the TLS certificate file \(certificatePath) holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw SetupError(description: "cannot load the TLS private key \(keyPath): \(reason(error)) (expected an unencrypted PEM key)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw SetupError(description: "cannot set up TLS with \(certificatePath) and \(keyPath): \(reason(error))")
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case NIOSSLError.noSuchFilesystemObject: return "no such file"
        case NIOSSLError.failedToLoadCertificate: return "not a readable certificate"
        case NIOSSLError.failedToLoadPrivateKey: return "not a readable private key"
        default: return "\(error)"
        }
    }
}
