import ArticleSyncClient
import ArticleSyncProtocol
import ArticleSyncServer
import Foundation
import NIOCore
import XCTest

/// The secured server and client as users run them: real `articlesyncd serve --tokens … --tls-…`
/// processes on loopback, the client library and the `articlesync` program against them.
final class SecurityEndToEndTests: XCTestCase {
    private var root: String!
    private var children: [ChildProcess] = []
    private var tokens: String { root + "/tokens" }

    override func setUpWithError() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/articlesync-secure.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        root = String(cString: made)
    }

    override func tearDown() async throws {
        for child in children {
            child.kill(SIGTERM)
            if (try? await child.wait(timeout: .seconds(20))) == nil { child.terminate() }
            child.terminate()
        }
        children.removeAll()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Starts `articlesyncd serve` with `arguments` on a free loopback port; returns its address.
    private func startServer(_ arguments: [String], importing count: Int = 0) async throws -> ServerAddress {
        var full = ["serve", "--store", root + "/server-\(children.count).sqlite", "--port", "0"] + arguments
        if count > 0 {
            let corpus = root + "/corpus"
            if !FileManager.default.fileExists(atPath: corpus) { try Corpus.write(count: count, to: corpus) }
            full += ["--import", corpus]
        }
        let child = try ChildProcess(Binaries.server, full)
        children.append(child)
        let line = try await child.waitForLine(timeout: .seconds(120)) { $0.contains("listening on ") }
        let text = line.components(separatedBy: "listening on ").last!.trimmingCharacters(in: .whitespaces)
        return try XCTUnwrap(ServerAddress(parsing: text))
    }

    private func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment)
        children.append(child)
        let status = try await child.wait()
        return (status, child.stdout, child.stderr)
    }

    private func addToken(_ name: String, role: String) async throws -> String {
        let result = try await run(Binaries.server, ["token", "add", "--file", tokens, "--role", role, "--name", name, "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func refusal(_ configuration: ClientConfiguration) async -> ClientError? {
        do {
            _ = try await SyncConnection.withConnection(configuration) { $0.welcome.role }
            return nil
        } catch {
            return error as? ClientError
        }
    }

    private func push(_ index: Int) -> Push {
        Push(entries: [PushEntry(id: "pushed\(index)", expectedRevision: PushEntry.anyRevision, operation: .put(source: ByteBuffer(string: Corpus.article(900_000 + index))))])
    }

    func testAReadTokenPullsButCannotPushAndAWriteTokenCan() async throws {
        let reader = try await addToken("laptop", role: "read")
        let writer = try await addToken("editor", role: "write")
        let address = try await startServer(["--tokens", tokens])

        let readRole = try await SyncConnection.withConnection(ClientConfiguration(address: address, token: reader)) { connection in
            do {
                _ = try await connection.push(self.push(1))
                XCTFail("a read token must not push")
            } catch let error as ClientError {
                XCTAssertTrue(error.message.contains("FORBIDDEN") || error.message.lowercased().contains("read"), error.message)
                XCTAssertEqual(error.status, .permissionDenied)
            }
            // FORBIDDEN is not fatal: the connection still serves reads.
            let verify = try await connection.verify(atRevision: VerifyResult.headRevision)
            XCTAssertEqual(verify.status, .ok)
            return connection.welcome.role
        }
        XCTAssertEqual(readRole, .read)

        let result = try await SyncConnection.withConnection(ClientConfiguration(address: address, token: writer)) { connection in
            XCTAssertEqual(connection.welcome.role, .write)
            return try await connection.push(self.push(2))
        }
        XCTAssertEqual(result.results.map(\.status), [.applied])
    }

    func testWithTokensConfiguredNoTokenIsRefused() async throws {
        _ = try await addToken("laptop", role: "read")
        let address = try await startServer(["--tokens", tokens])
        let error = await refusal(ClientConfiguration(address: address))
        XCTAssertEqual(error?.status, .permissionDenied)
        XCTAssertTrue(error?.message.contains("needs an access token") == true, "\(String(describing: error))")
    }

    func testARevokedTokenIsRefusedWithoutARestart() async throws {
        let reader = try await addToken("laptop", role: "read")
        let address = try await startServer(["--tokens", tokens])
        let configuration = ClientConfiguration(address: address, token: reader)
        let before = await refusal(configuration)
        XCTAssertNil(before)

        let revoked = try await run(Binaries.server, ["token", "revoke", "--file", tokens, "--name", "laptop"])
        XCTAssertEqual(revoked.status, 0, revoked.stderr)

        let after = await refusal(configuration)
        XCTAssertEqual(after?.status, .permissionDenied)
        XCTAssertTrue(after?.message.contains("not known") == true, "\(String(describing: after))")
    }

    func testAWrongTokenIsAuthFailedAfterADelayAndRepeatedFailuresAreRateLimitedButNotAValidToken() async throws {
        let reader = try await addToken("laptop", role: "read")
        let address = try await startServer(["--tokens", tokens])
        let wrong = ClientConfiguration(address: address, token: "asy_" + String(repeating: "x", count: 43))

        let started = ContinuousClock.now
        let first = await refusal(wrong)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(250), "a wrong token is answered after the delay")
        XCTAssertTrue(first?.message.contains("not known") == true, "\(String(describing: first))")
        for _ in 0..<4 { _ = await refusal(wrong) }

        let limited = await refusal(wrong)
        XCTAssertTrue(limited?.message.contains("too many failed authentications") == true, "\(String(describing: limited))")
        let valid = await refusal(ClientConfiguration(address: address, token: reader))
        XCTAssertNil(valid, "a valid token is never refused for its address's earlier failures")
        let server = try XCTUnwrap(children.last { $0.process.arguments?.first == "serve" })
        XCTAssertTrue(server.stderr.contains("rate-limiting 127.0.0.1"), server.stderr)
    }

    func testATLSPullEndToEndWithAPinnedSelfSignedCertificate() async throws {
        let made = try await run(Binaries.server, ["cert", "generate", "--out-cert", root + "/server.crt", "--out-key", root + "/server.key", "--host", "localhost", "127.0.0.1"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let pinLine = try XCTUnwrap(made.stdout.split(separator: "\n").first { $0.contains("--pin ") })
        let pin = String(try XCTUnwrap(pinLine.components(separatedBy: "--pin ").last))

        let reader = try await addToken("backup", role: "read")
        try reader.write(toFile: root + "/token", atomically: true, encoding: .utf8)
        let address = try await startServer(
            ["--tokens", tokens, "--tls-cert", root + "/server.crt", "--tls-key", root + "/server.key"], importing: 200)
        let common = ["--server", "\(address)", "--replica", root + "/replica.sqlite", "--token-file", root + "/token"]
        let environment = ["XDG_DATA_HOME": root + "/data"]

        let plain = try await run(Binaries.client, ["pull"] + common, environment: environment)
        XCTAssertNotEqual(plain.status, 0)
        XCTAssertTrue(plain.stderr.contains("--tls"), plain.stderr)

        let wrongPin = "SHA256:" + Array(repeating: "00", count: 32).joined(separator: ":")
        let mismatch = try await run(Binaries.client, ["pull", "--tls", "--pin", wrongPin] + common, environment: environment)
        XCTAssertEqual(mismatch.status, ExitStatus.permissionDenied.rawValue, mismatch.stderr)
        XCTAssertTrue(mismatch.stderr.contains("HAS CHANGED"), mismatch.stderr)

        let pulled = try await run(Binaries.client, ["pull", "--tls", "--pin", pin, "--json"] + common, environment: environment)
        XCTAssertEqual(pulled.status, 0, pulled.stderr)
        let status = try await run(Binaries.client, ["status", "--json", "--tls"] + common, environment: environment)
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("\"articles\":200"), status.stdout)
        XCTAssertTrue(status.stdout.contains("\"behind\":0"), status.stdout)

        // The pin was remembered: the next pull needs only --tls.
        let again = try await run(Binaries.client, ["pull", "--tls"] + common, environment: environment)
        XCTAssertEqual(again.status, 0, again.stderr)
        let known = try String(contentsOfFile: root + "/data/articlesync/known_servers", encoding: .utf8)
        XCTAssertTrue(known.contains("\(address) \(pin)"), known)

        // Another --pin does not quietly replace the remembered one; --replace-pin is its own act.
        let replaced = try await run(Binaries.client, ["pull", "--tls", "--pin", wrongPin] + common, environment: environment)
        XCTAssertEqual(replaced.status, ExitStatus.permissionDenied.rawValue, replaced.stderr)
        XCTAssertTrue(replaced.stderr.contains("does not match the certificate remembered") && replaced.stderr.contains("--replace-pin"), replaced.stderr)
        XCTAssertEqual(try String(contentsOfFile: root + "/data/articlesync/known_servers", encoding: .utf8), known)
        let alone = try await run(Binaries.client, ["pull", "--tls", "--replace-pin"] + common, environment: environment)
        XCTAssertEqual(alone.status, ExitStatus.usage.rawValue, alone.stderr)
        let help = try await run(Binaries.client, ["pull", "--help"])
        XCTAssertTrue(help.stdout.contains("--replace-pin"), help.stdout)
    }

    func testAServerWithAnEncryptedKeyStartsOnlyWithItsPassphraseFile() async throws {
        let fixtures = Binaries.packageRoot.appendingPathComponent("Tests/Fixtures/tls").path
        let tls = ["--tls-cert", fixtures + "/cert.pem", "--tls-key", fixtures + "/key-pkcs8-encrypted.pem"]

        let refused = try await run(Binaries.server, ["serve", "--store", root + "/refused.sqlite", "--port", "0"] + tls)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("is encrypted: give its passphrase with --tls-key-passphrase-file"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/refused.sqlite"), "the store was created before TLS was set up")

        let address = try await startServer(tls + ["--tls-key-passphrase-file", fixtures + "/passphrase.txt"], importing: 20)
        let pulled = try await run(
            Binaries.client,
            ["pull", "--server", "\(address)", "--replica", root + "/replica.sqlite", "--tls", "--ca-file", fixtures + "/cert.pem"])
        XCTAssertEqual(pulled.status, 0, pulled.stderr)
    }

    func testAServerWithoutTokensRefusesToListenOffLoopbackUnlessToldInsecureOpen() async throws {
        let refused = try await run(Binaries.server, ["serve", "--store", root + "/open.sqlite", "--host", "0.0.0.0", "--port", "0"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--insecure-open"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/open.sqlite") && refused.stdout.contains("listening"))
    }
}
