import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// The server's TLS context (PROTOCOL.md §10): TLS 1.2 or 1.3 from the first byte of a connection.
public enum ServerTLS {
    public struct SetupError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A context from a PEM certificate chain (leaf first, intermediates after) and its PEM key,
    /// which `keyPassphrase` decrypts when the key is encrypted (PKCS#8 or OpenSSL's legacy form).
    ///
    /// NIOSSLContext reads files and builds tables: make it once at start-up, never on an event loop.
    public static func makeContext(
        certificatePath: String, keyPath: String, keyPassphrase: [UInt8]? = nil
    ) throws(SetupError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw SetupError(description: "cannot load the TLS certificate \(certificatePath): \(reason(error)) (expected a PEM file)")
        }
        guard !chain.isEmpty else {
            throw SetupError(description: "the TLS certificate file \(certificatePath) holds no certificate")
        }
        let key = try loadKey(keyPath, passphrase: keyPassphrase)
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

    private static func loadKey(_ path: String, passphrase: [UInt8]?) throws(SetupError) -> NIOSSLPrivateKey {
        do {
            if let passphrase {
                return try NIOSSLPrivateKey(file: path, format: .pem) { setPassphrase in setPassphrase(passphrase) }
            }
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            guard case NIOSSLError.failedToLoadPrivateKey = error, isEncrypted(path) else {
                throw SetupError(description: "cannot load the TLS private key \(path): \(reason(error)) (expected a PEM key)")
            }
            throw SetupError(
                description: passphrase == nil
                    ? "the TLS private key \(path) is encrypted: give its passphrase with --tls-key-passphrase-file"
                    : "cannot decrypt the TLS private key \(path): wrong passphrase")
        }
    }

    /// Both PEM forms of an encrypted key say so in clear: "ENCRYPTED PRIVATE KEY" (PKCS#8) or
    /// "Proc-Type: 4,ENCRYPTED" (OpenSSL's legacy form).
    private static func isEncrypted(_ path: String) -> Bool {
        guard let handle = fopen(path, "r") else { return false }
        defer { fclose(handle) }
        var head = [UInt8](repeating: 0, count: 4_096)
        let count = fread(&head, 1, head.count, handle)
        return String(decoding: head.prefix(count), as: UTF8.self).contains("ENCRYPTED")
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
