import ArgumentParser
import Foundation

/// `articlesyncd cert generate`: a self-signed certificate for a first TLS set-up.
struct CertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Make TLS certificates for the server.",
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a self-signed certificate and key, and print the certificate's SHA-256 fingerprint.",
            discussion: """
                Start the server with --tls-cert and --tls-key pointing at the two files. Clients trust the \
                certificate by its fingerprint: `articlesync ... --tls --pin SHA256:…` once (it is remembered \
                in ~/.local/share/articlesync/known_servers), or by answering "y" at the first-use prompt \
                after comparing the fingerprint. scripts/make-cert does the same with openssl.
                """
        )

        @Option(name: .customLong("out-cert"), help: ArgumentHelp("Where to write the certificate (PEM).", valueName: "path"))
        var certificatePath: String

        @Option(name: .customLong("out-key"), help: ArgumentHelp("Where to write the private key (PEM, mode 0600).", valueName: "path"))
        var keyPath: String

        @Option(
            name: .customLong("host"),
            parsing: .upToNextOption,
            help: ArgumentHelp("Names and IP addresses clients use to reach the server (one or more).", valueName: "name")
        )
        var hosts: [String]

        @Option(parsing: .unconditional, help: "How long the certificate is valid, in days.")
        var days: Int = 3650

        @Flag(help: "Overwrite existing files.")
        var force = false

        func validate() throws {
            guard !hosts.isEmpty else { throw ValidationError("name at least one --host (for example the server's name and its IP address)") }
            guard (1...36_500).contains(days) else { throw ValidationError("--days must be between 1 and 36500") }
            guard certificatePath != keyPath else { throw ValidationError("--out-cert and --out-key must be different files") }
        }

        func run() throws {
            let made: SelfSignedCertificate
            do {
                made = try SelfSignedCertificate.make(hosts: hosts, days: days)
            } catch let error as SelfSignedCertificate.InvalidHost {
                throw ValidationError("--host \(error)")
            }
            try write(made.privateKeyPEM, to: keyPath, mode: 0o600)
            do {
                try write(made.certificatePEM, to: certificatePath, mode: 0o644)
            } catch {
                // A key without its certificate is of no use, and a key left lying about is a risk.
                unlink(keyPath)
                throw error
            }
            print(
                """
                Wrote \(certificatePath) (certificate for \(hosts.joined(separator: ", ")), valid until \(made.notValidAfter.formatted(.iso8601)))
                  and \(keyPath) (private key, mode 0600: keep it on the server only).
                Fingerprint:
                  \(made.fingerprint)
                Clients trust this certificate with:  --tls --pin \(made.fingerprint)
                """
            )
        }

        private func write(_ text: String, to path: String, mode: mode_t) throws {
            let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL)
            let fd = open(path, flags, mode)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno)).lowercased()
                throw CommandFailure(errno == EEXIST ? "\(path) exists; pass --force to replace it" : "cannot write \(path): \(reason)")
            }
            defer { close(fd) }
            // The mode must not depend on the umask, and a replaced key file must lose wider bits.
            fchmod(fd, mode)
            let bytes = Array(text.utf8)
            let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else {
                throw CommandFailure("cannot write \(path): \(String(cString: strerror(errno)).lowercased())")
            }
        }
    }
}
