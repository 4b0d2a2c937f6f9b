import ArticleStore
import ArticleSyncClient
import ArticleSyncProtocol
import ArticleSyncServer
import ArticleSyncServerTestSupport
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import NIOSSL
import Synchronization
import XCTest

/// Real TLS handshakes over loopback between the client's trust code and the server's TLS set-up.
final class SecurityTLSTests: XCTestCase {
    private var pki: SecurityTestPKI!
    private var servers: [SecurityTLSEchoServer] = []

    override func setUpWithError() throws {
        pki = try SecurityTestPKI()
    }

    override func tearDown() async throws {
        for server in servers { await server.stop() }
        servers.removeAll()
        pki.remove()
    }

    private func serve(_ identity: SecurityTestPKI.Identity?) async throws -> SecurityTLSEchoServer {
        let context = try identity.map { try ServerTLS.makeContext(certificatePath: $0.certificatePath, keyPath: $0.keyPath) }
        let server = try await SecurityTLSEchoServer(tlsContext: context)
        servers.append(server)
        return server
    }

    private func fingerprint(_ identity: SecurityTestPKI.Identity) -> CertificateFingerprint {
        CertificateFingerprint(certificateDER: identity.der)
    }

    // MARK: certificate authorities

    func testACertificateFromTheGivenCAIsAccepted() async throws {
        let ca = try pki.makeCA("Test CA")
        let server = try await serve(try pki.makeLeaf(issuer: ca))
        let attempt = try ClientTLS(trust: .certificateAuthorities(caFile: ca.certificatePath), address: server.address).makeAttempt()

        let reply = try await securityExchange(attempt, address: server.address)
        XCTAssertEqual(reply, "ping")
        XCTAssertNil(attempt.failure)
    }

    func testACertificateFromAnotherCAIsRefused() async throws {
        let ca = try pki.makeCA("Test CA")
        let other = try pki.makeCA("Other CA")
        let leaf = try pki.makeLeaf(issuer: ca)
        let server = try await serve(leaf)
        let attempt = try ClientTLS(trust: .certificateAuthorities(caFile: other.certificatePath), address: server.address).makeAttempt()

        await assertThrows(try await securityExchange(attempt, address: server.address))
        guard case .untrusted = attempt.failure else { return XCTFail("expected untrusted, got \(String(describing: attempt.failure))") }

        let presented = try await CertificateProbe.fetch(server.address)
        XCTAssertEqual(presented.fingerprint, fingerprint(leaf))
        let error = TrustedConnector.describe(attempt.failure!, trust: attempt.tls.trust, address: server.address, presented: presented)
        XCTAssertTrue(error.message.contains("not signed by a CA in \(other.certificatePath)"), error.message)
        XCTAssertTrue(error.message.contains("--pin \(fingerprint(leaf))"), error.message)
        XCTAssertEqual(error.status, .permissionDenied)
    }

    func testAnExpiredCertificateIsRefusedAndSaidToBeExpired() async throws {
        let ca = try pki.makeCA("Test CA")
        let expired = try pki.makeLeaf(issuer: ca, validFrom: -10 * 86_400, validUntil: -86_400)
        let server = try await serve(expired)

        let viaCA = try ClientTLS(trust: .certificateAuthorities(caFile: ca.certificatePath), address: server.address).makeAttempt()
        await assertThrows(try await securityExchange(viaCA, address: server.address))
        let presented = try await CertificateProbe.fetch(server.address)
        let message = TrustedConnector.describe(viaCA.failure!, trust: viaCA.tls.trust, address: server.address, presented: presented).message
        XCTAssertTrue(message.contains("outside its validity dates"), message)

        // A pin does not make an expired certificate acceptable either.
        let viaPin = try ClientTLS(trust: .pinned(fingerprint(expired), source: .commandLine), address: server.address).makeAttempt()
        await assertThrows(try await securityExchange(viaPin, address: server.address))
        guard case .expired = viaPin.failure else { return XCTFail("expected expired, got \(String(describing: viaPin.failure))") }
    }

    func testACertificateForAnotherNameIsRefused() async throws {
        let ca = try pki.makeCA("Test CA")
        let server = try await serve(try pki.makeLeaf(names: ["backup.example"], ipAddresses: [], issuer: ca))
        let attempt = try ClientTLS(trust: .certificateAuthorities(caFile: ca.certificatePath), address: server.address).makeAttempt()

        await assertThrows(try await securityExchange(attempt, address: server.address))
        guard case .hostnameMismatch = attempt.failure else { return XCTFail("got \(String(describing: attempt.failure))") }
    }

    func testASelfSignedCertificateServesAsItsOwnCAFile() async throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let server = try await serve(leaf)
        let attempt = try ClientTLS(trust: .certificateAuthorities(caFile: leaf.certificatePath), address: server.address).makeAttempt()
        let reply = try await securityExchange(attempt, address: server.address)
        XCTAssertEqual(reply, "ping")
    }

    // MARK: pins

    func testTheRightPinIsAcceptedWhateverTheCA() async throws {
        let leaf = try pki.makeLeaf(names: ["elsewhere.example"], ipAddresses: [], issuer: nil)
        let server = try await serve(leaf)
        let attempt = try ClientTLS(trust: .pinned(fingerprint(leaf), source: .commandLine), address: server.address).makeAttempt()
        let reply = try await securityExchange(attempt, address: server.address)
        XCTAssertEqual(reply, "ping")
    }

    func testAWrongPinIsAHardFailureNamingBothFingerprints() async throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let other = try pki.makeLeaf(issuer: nil)
        let server = try await serve(leaf)
        let trust = ServerTrust.pinned(fingerprint(other), source: .knownServers(path: "/x/known_servers", line: 3))
        let attempt = try ClientTLS(trust: trust, address: server.address).makeAttempt()

        await assertThrows(try await securityExchange(attempt, address: server.address))
        XCTAssertEqual(attempt.failure, .pinMismatch(presented: fingerprint(leaf)))
        let message = TrustedConnector.describe(attempt.failure!, trust: trust, address: server.address, presented: nil).message
        XCTAssertTrue(message.contains("HAS CHANGED"), message)
        XCTAssertTrue(message.contains("\(fingerprint(leaf))") && message.contains("\(fingerprint(other))"), message)
        XCTAssertTrue(message.contains("/x/known_servers line 3"), message)
        // The presented fingerprint is there to compare, never offered as a flag to copy.
        XCTAssertTrue(message.contains("presented by the server (unverified, to compare only): \(fingerprint(leaf))"), message)
        XCTAssertFalse(message.contains("--pin \(fingerprint(leaf))"), message)
        XCTAssertTrue(message.contains("--replace-pin"), message)
    }

    func testAChangedCertificateOfARememberedServerIsRefusedWithoutAPinToCopy() async throws {
        let old = try pki.makeLeaf(issuer: nil)
        let new = try pki.makeLeaf(issuer: nil)
        let server = try await serve(new)
        let path = pki.directory + "/known_servers"
        var known = try KnownServers(path: path)
        try known.remember(fingerprint(old), for: server.address)

        do {
            _ = try await TrustedConnector.run(ClientTLSOptions(knownServersPath: path), address: server.address) { attempt in
                try await securityExchange(attempt, address: server.address)
            }
            XCTFail("a changed certificate must be refused")
        } catch let error as ClientError {
            XCTAssertEqual(error.status, .permissionDenied)
            XCTAssertTrue(error.message.contains("HAS CHANGED"), error.message)
            XCTAssertFalse(error.message.contains("--pin \(fingerprint(new))"), error.message)
        }
        XCTAssertEqual(try KnownServers(path: path).entry(for: server.address)?.fingerprint, fingerprint(old))
    }

    func testAnExplicitPinThatDiffersFromTheRememberedOneIsRefusedUnlessReplacingIt() async throws {
        let old = try pki.makeLeaf(issuer: nil)
        let new = try pki.makeLeaf(issuer: nil)
        let server = try await serve(new)
        let path = pki.directory + "/known_servers"
        var known = try KnownServers(path: path)
        try known.remember(fingerprint(old), for: server.address)

        var connected = false
        do {
            _ = try await TrustedConnector.run(ClientTLSOptions(pin: fingerprint(new), knownServersPath: path), address: server.address) { attempt in
                connected = true
                return try await securityExchange(attempt, address: server.address)
            }
            XCTFail("a --pin that differs from the remembered one must be refused")
        } catch let error as ClientError {
            XCTAssertEqual(error.status, .permissionDenied)
            XCTAssertTrue(error.message.contains("does not match the certificate remembered for \(server.address)"), error.message)
            XCTAssertTrue(error.message.contains("--replace-pin"), error.message)
        }
        XCTAssertFalse(connected, "refused before connecting")
        XCTAssertEqual(try KnownServers(path: path).entry(for: server.address)?.fingerprint, fingerprint(old))

        let replacing = ClientTLSOptions(pin: fingerprint(new), replacesRememberedPin: true, knownServersPath: path)
        let reply = try await TrustedConnector.run(replacing, address: server.address) { attempt in
            try await securityExchange(attempt, address: server.address)
        }
        XCTAssertEqual(reply, "ping")
        XCTAssertEqual(try KnownServers(path: path).entry(for: server.address)?.fingerprint, fingerprint(new))

        // The same pin as the remembered one needs nothing more.
        let same = try await TrustedConnector.run(ClientTLSOptions(pin: fingerprint(new), knownServersPath: path), address: server.address) { attempt in
            try await securityExchange(attempt, address: server.address)
        }
        XCTAssertEqual(same, "ping")
    }

    // MARK: trust on first use

    func testFirstUseAsksRemembersAndThenUsesThePin() async throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let server = try await serve(leaf)
        let knownServers = pki.directory + "/share/articlesync/known_servers"
        let prompt = CountingPrompt(answer: true)
        let options = ClientTLSOptions(knownServersPath: knownServers, prompt: prompt)

        let first = try await TrustedConnector.run(options, address: server.address) { attempt in
            try await securityExchange(attempt, address: server.address)
        }
        XCTAssertEqual(first, "ping")
        XCTAssertEqual(prompt.count, 1)
        XCTAssertEqual(try KnownServers(path: knownServers).entry(for: server.address)?.fingerprint, fingerprint(leaf))
        let mode = try FileManager.default.attributesOfItem(atPath: knownServers)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)

        let second = try await TrustedConnector.run(options, address: server.address) { attempt in
            XCTAssertEqual(attempt.tls.trust, .pinned(self.fingerprint(leaf), source: .knownServers(path: knownServers, line: 3)))
            return try await securityExchange(attempt, address: server.address)
        }
        XCTAssertEqual(second, "ping")
        XCTAssertEqual(prompt.count, 1, "a remembered server is not asked about again")
    }

    func testFirstUseWithoutATerminalFailsWithTheExactPinFlag() async throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let server = try await serve(leaf)
        let options = ClientTLSOptions(knownServersPath: pki.directory + "/known_servers", prompt: NonInteractiveTrustPrompt())

        do {
            _ = try await TrustedConnector.run(options, address: server.address) { attempt in
                try await securityExchange(attempt, address: server.address)
            }
            XCTFail("an untrusted certificate must not be accepted without a person")
        } catch let error as ClientError {
            XCTAssertTrue(error.message.contains("--pin \(fingerprint(leaf))"), error.message)
        }
        XCTAssertNil(try KnownServers(path: pki.directory + "/known_servers").entry(for: server.address))
    }

    func testARefusalAtThePromptRemembersNothing() async throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let server = try await serve(leaf)
        let prompt = CountingPrompt(answer: false)
        let options = ClientTLSOptions(knownServersPath: pki.directory + "/known_servers", prompt: prompt)
        await assertThrows(
            try await TrustedConnector.run(options, address: server.address) { attempt in
                try await securityExchange(attempt, address: server.address)
            }
        )
        XCTAssertEqual(prompt.count, 1)
        XCTAssertNil(try KnownServers(path: pki.directory + "/known_servers").entry(for: server.address))
    }

    func testAnExplicitPinThatWorksIsRemembered() async throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let server = try await serve(leaf)
        let path = pki.directory + "/known_servers"
        let options = ClientTLSOptions(pin: fingerprint(leaf), knownServersPath: path)
        _ = try await TrustedConnector.run(options, address: server.address) { attempt in
            try await securityExchange(attempt, address: server.address)
        }
        XCTAssertEqual(try KnownServers(path: path).entry(for: server.address)?.fingerprint, fingerprint(leaf))
    }

    // MARK: transports

    func testAPlainClientOfATLSServerGetsTLSRequiredInPlainText() async throws {
        let server = try await serve(try pki.makeLeaf(issuer: nil))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: server.address.host, port: server.address.port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let received = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: [0, 0, 0, 20, 0x01, 0]))
            var all = ByteBuffer()
            for try await var chunk in inbound { all.writeBuffer(&chunk) }
            return all
        }
        var frame = received
        XCTAssertEqual(frame.readInteger(as: UInt32.self).map(Int.init), frame.readableBytes)
        XCTAssertEqual(frame.readInteger(as: UInt8.self), MessageType.error.rawValue)
        XCTAssertEqual(frame.readInteger(as: UInt8.self), 0)
        XCTAssertEqual(frame.readInteger(as: UInt16.self), ErrorCode.tlsRequired.rawValue)
    }

    func testATLSClientOfAPlainServerFailsWithAHint() async throws {
        let server = try await serve(nil)
        let attempt = try ClientTLS(trust: .certificateAuthorities(caFile: nil), address: server.address).makeAttempt()
        await assertThrows(try await securityExchange(attempt, address: server.address))
        // The plain server's own refusal of the handshake record, read before TLS could misread it.
        guard case .refusedInPlain(let refusal)? = attempt.failure, refusal.code == .malformedFrame else {
            return XCTFail("got \(String(describing: attempt.failure))")
        }
        let error = TrustedConnector.describe(attempt.failure!, trust: attempt.tls.trust, address: server.address, presented: nil)
        XCTAssertEqual(error.status, .unavailable)
        XCTAssertTrue(error.message.contains("does not speak TLS"), error.message)
        XCTAssertTrue(error.message.contains("does the server speak TLS"), error.message)
    }

    func testATLSServerAtItsConnectionLimitRefusesInPlainTextAndTheClientShowsWhy() async throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let store = try SQLiteCanonicalStore(path: pki.directory + "/server.sqlite")
        defer { try? store.close() }
        var configuration = ServerConfiguration()
        configuration.externalChangePollInterval = nil
        configuration.maxConnections = 1
        configuration.tlsContext = try ServerTLS.makeContext(certificatePath: leaf.certificatePath, keyPath: leaf.keyPath)
        let logger = Logger(label: "tls-limit", factory: { _ in SwiftLogNoOpLogHandler() })
        try await InProcessServer.with(configuration: configuration, store: store, logger: logger) { running in
            let address = ServerAddress(host: "127.0.0.1", port: running.port)
            // The one slot, held by a peer that says nothing yet.
            let holder = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: address.host, port: address.port).get()
            defer { holder.close(promise: nil) }
            let deadline = ContinuousClock.now + .seconds(5)
            while running.server.statistics.snapshot().activeConnections < 1 {
                guard ContinuousClock.now < deadline else { return XCTFail("the first connection was never served") }
                try await Task.sleep(for: .milliseconds(5))
            }
            // Refused at accept, before TLS: the ERROR comes in plain text, and is what the user sees.
            let attempt = try ClientTLS(trust: .pinned(fingerprint(leaf), source: .commandLine), address: address).makeAttempt()
            await assertThrows(try await securityExchange(attempt, address: address))
            guard case .refusedInPlain(let refusal)? = attempt.failure else {
                return XCTFail("got \(String(describing: attempt.failure))")
            }
            XCTAssertEqual(refusal.code, .tooManyConnections)
            let error = TrustedConnector.describe(attempt.failure!, trust: attempt.tls.trust, address: address, presented: nil)
            XCTAssertEqual(error.status, .unavailable)
            XCTAssertTrue(error.message.hasPrefix("server refused: "), error.message)
            XCTAssertTrue(error.message.hasSuffix(" (in plain text, before TLS)"), error.message)
        }
    }

    func testTheTLSSnifferInstallsTheTLSHandlerOnlyForAHandshakeRecord() throws {
        let leaf = try pki.makeLeaf(issuer: nil)
        let context = try ServerTLS.makeContext(certificatePath: leaf.certificatePath, keyPath: leaf.keyPath)

        let tls = EmbeddedChannel(handler: TransportSniffingHandler(tlsContext: context))
        try tls.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        // The start of a TLS record: the TLS handler takes it and waits for the rest.
        try tls.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01]))
        XCTAssertNoThrow(try tls.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self))
        _ = try? tls.finish()

        let plain = EmbeddedChannel(handler: TransportSniffingHandler(tlsContext: context))
        try plain.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try plain.writeInbound(ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x10]))
        var frame = try XCTUnwrap(plain.readOutbound(as: ByteBuffer.self))
        frame.moveReaderIndex(forwardBy: 6)
        XCTAssertEqual(frame.readInteger(as: UInt16.self), ErrorCode.tlsRequired.rawValue)
        XCTAssertThrowsError(try plain.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self))
        XCTAssertFalse(plain.isActive)
    }

    func testAServerKeyThatDoesNotMatchItsCertificateIsRefusedAtStartUp() throws {
        let one = try pki.makeLeaf(issuer: nil)
        let two = try pki.makeLeaf(issuer: nil)
        XCTAssertThrowsError(try ServerTLS.makeContext(certificatePath: one.certificatePath, keyPath: two.keyPath))
        XCTAssertThrowsError(try ServerTLS.makeContext(certificatePath: pki.directory + "/missing.pem", keyPath: one.keyPath)) {
            XCTAssertTrue("\($0)".contains("missing.pem"), "\($0)")
        }
    }

    // MARK: encrypted keys

    private static let fixtures = Binaries.packageRoot.appendingPathComponent("Tests/Fixtures/tls").path

    func testAnEncryptedServerKeyServesWithItsPassphraseInEitherPEMForm() async throws {
        let passphrase = Array("correct horse battery staple".utf8)
        for key in ["key-pkcs8-encrypted.pem", "key-legacy-encrypted.pem"] {
            let certificate = Self.fixtures + "/cert.pem"
            let context = try ServerTLS.makeContext(
                certificatePath: certificate, keyPath: Self.fixtures + "/" + key, keyPassphrase: passphrase)
            let server = try await SecurityTLSEchoServer(tlsContext: context)
            servers.append(server)
            let attempt = try ClientTLS(trust: .certificateAuthorities(caFile: certificate), address: server.address).makeAttempt()
            let reply = try await securityExchange(attempt, address: server.address)
            XCTAssertEqual(reply, "ping", key)
        }
    }

    func testAnEncryptedServerKeyWithoutOrWithAWrongPassphraseIsRefusedSayingWhich() throws {
        let certificate = Self.fixtures + "/cert.pem"
        let key = Self.fixtures + "/key-pkcs8-encrypted.pem"
        XCTAssertThrowsError(try ServerTLS.makeContext(certificatePath: certificate, keyPath: key)) {
            XCTAssertTrue("\($0)".contains("is encrypted: give its passphrase with --tls-key-passphrase-file"), "\($0)")
        }
        XCTAssertThrowsError(try ServerTLS.makeContext(certificatePath: certificate, keyPath: key, keyPassphrase: Array("wrong".utf8))) {
            XCTAssertTrue("\($0)".contains("wrong passphrase"), "\($0)")
        }
        // A passphrase given for a key that is not encrypted is not needed, and does no harm.
        let leaf = try pki.makeLeaf(issuer: nil)
        XCTAssertNoThrow(try ServerTLS.makeContext(certificatePath: leaf.certificatePath, keyPath: leaf.keyPath, keyPassphrase: Array("x".utf8)))
    }

    private func assertThrows<T>(_ body: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await body()
            XCTFail("expected an error", file: file, line: line)
        } catch {}
    }
}

/// A prompt with a fixed answer that counts how often it was asked.
final class CountingPrompt: TrustPrompt {
    private let asked = Mutex(0)
    let answer: Bool?

    init(answer: Bool?) {
        self.answer = answer
    }

    var count: Int { asked.withLock { $0 } }

    func shouldTrust(_ presented: CertificateProbe.Presented, server: ServerAddress) -> Bool? {
        asked.withLock { $0 += 1 }
        return answer
    }
}
