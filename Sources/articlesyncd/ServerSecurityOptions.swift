import ArgumentParser
import ArticleSyncServer
import Foundation
import Logging

/// Who may use the server, and over what (PROTOCOL.md §10): tokens, TLS, and the explicit choice to
/// serve everyone.
struct ServerSecurityOptions: ParsableArguments {
    @Option(
        name: .customLong("tokens"),
        help: ArgumentHelp(
            "The token file (`articlesyncd token add` makes it). With it, every client needs a token; it is reread when it changes.",
            valueName: "path"))
    var tokenFile: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate (chain) to speak TLS with; needs --tls-key.", valueName: "path"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "path"))
    var tlsKey: String?

    @Option(
        name: .customLong("tls-key-passphrase-file"),
        help: ArgumentHelp(
            "A file whose first line is the passphrase of an encrypted --tls-key (a file, not a flag: flags show in the process list).",
            valueName: "path"))
    var tlsKeyPassphraseFile: String?

    @Flag(
        name: .customLong("insecure-open"),
        help: "Without --tokens, serve read-only to anyone who can reach --host, even off loopback.")
    var insecureOpen = false

    func validate() throws {
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if tlsKeyPassphraseFile != nil, tlsKey == nil {
            throw ValidationError("--tls-key-passphrase-file is for an encrypted --tls-key")
        }
        if tokenFile != nil, insecureOpen {
            throw ValidationError("--insecure-open is for a server without --tokens")
        }
    }

    /// Checks the combination against the listening host, loads the token file and the TLS
    /// certificate (so a mistake stops the server before it opens the store), and returns what to
    /// set in the server's configuration.
    func prepare(host: String, anonymousWrite: Bool, logger: Logger) throws -> @Sendable (inout ServerConfiguration) -> Void {
        if tokenFile != nil, anonymousWrite {
            throw ValidationError("--anonymous-write is for a server without --tokens")
        }
        let warnings: [String]
        do {
            warnings = try ServerAccessPolicy.check(
                host: host, tokenFile: tokenFile, tlsEnabled: tlsCertificate != nil, insecureOpen: insecureOpen)
        } catch {
            throw CommandFailure(error.description)
        }
        for warning in warnings { logger.warning("\(warning)") }

        let authenticator: any Authenticator
        if let tokenFile {
            let entries: Int
            do {
                entries = try TokenFile.load(path: tokenFile).file.entries.count
            } catch {
                throw CommandFailure("\(error); make one with `articlesyncd token add --file \(tokenFile) --role read --name NAME`")
            }
            if entries == 0 { logger.warning("the token file \(tokenFile) holds no token: every client will be refused") }
            authenticator = TokenAuthenticator(configuration: .init(tokenFile: tokenFile), logger: logger)
        } else {
            authenticator = AnonymousAuthenticator(loopbackRole: anonymousWrite ? .write : .read, servesOtherHosts: insecureOpen)
        }

        var tls: ServerConfiguration = ServerConfiguration()
        if let tlsCertificate, let tlsKey {
            let passphrase = try tlsKeyPassphraseFile.map(Self.readPassphrase)
            do {
                tls.tlsContext = try ServerTLS.makeContext(certificatePath: tlsCertificate, keyPath: tlsKey, keyPassphrase: passphrase)
            } catch {
                throw CommandFailure(error.description)
            }
        }
        let context = tls.tlsContext
        return { configuration in
            configuration.authenticator = authenticator
            configuration.tlsContext = context
        }
    }

    /// The first line of `path`, without its line ending.
    static func readPassphrase(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read the passphrase file \(path)")
        }
        let line = data.prefix { $0 != UInt8(ascii: "\n") }
        let passphrase = [UInt8](line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
        guard !passphrase.isEmpty else { throw CommandFailure("the passphrase file \(path) is empty") }
        return passphrase
    }
}
