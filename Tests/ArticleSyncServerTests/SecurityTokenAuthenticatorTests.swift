import ArticleSyncProtocol
import ArticleSyncServer
import Foundation
import NIOCore
import XCTest

final class SecurityTokenAuthenticatorTests: XCTestCase {
    private var directory: URL!
    private var path: String { directory.appendingPathComponent("tokens").path }
    private let loopback = try! SocketAddress(ipAddress: "127.0.0.1", port: 50_000)
    private let remote = try! SocketAddress(ipAddress: "192.0.2.7", port: 50_000)  // TEST-NET-1: never contacted

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func authenticator(delay: Duration = .zero) -> TokenAuthenticator {
        TokenAuthenticator(configuration: .init(tokenFile: path, failureDelay: delay))
    }

    private func code(_ decision: AuthenticationDecision) -> ErrorCode? {
        if case .refused(let error) = decision { return error.code }
        return nil
    }

    func testAKnownTokenGetsItsRole() async throws {
        let reader = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let writer = try TokenAdministration.add(path: path, name: "desk", role: "write")
        let auth = authenticator()

        let read = await auth.authenticate(AuthenticationRequest(token: reader.token, peer: remote, isEncrypted: true))
        XCTAssertEqual(read, .granted(.read, tokenName: "laptop"))
        let write = await auth.authenticate(AuthenticationRequest(token: writer.token, peer: loopback, isEncrypted: false))
        XCTAssertEqual(write, .granted(.write, tokenName: "desk"), "loopback may send a token without TLS")
    }

    func testNoTokenIsAuthRequired() async throws {
        try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let decision = await authenticator().authenticate(AuthenticationRequest(token: "", peer: loopback, isEncrypted: false))
        XCTAssertEqual(code(decision), .authRequired)
    }

    func testAWrongTokenIsAuthFailedAfterTheDelay() async throws {
        try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let auth = authenticator(delay: .milliseconds(200))
        let started = ContinuousClock.now
        let decision = await auth.authenticate(AuthenticationRequest(token: "asy_guess", peer: remote, isEncrypted: true))
        XCTAssertEqual(code(decision), .authFailed)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - started, .milliseconds(200))
    }

    func testATokenOverPlainTCPFromAnotherHostIsTLSRequired() async throws {
        let made = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let decision = await authenticator().authenticate(AuthenticationRequest(token: made.token, peer: remote, isEncrypted: false))
        XCTAssertEqual(code(decision), .tlsRequired)
    }

    func testRevokedTokenIsRefusedAtTheNextAuthentication() async throws {
        let made = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let auth = authenticator()
        let request = AuthenticationRequest(token: made.token, peer: remote, isEncrypted: true)
        let before = await auth.authenticate(request)
        XCTAssertEqual(before, .granted(.read, tokenName: "laptop"))

        try TokenAdministration.revoke(path: path, name: "laptop")
        let after = await auth.authenticate(request)
        XCTAssertEqual(code(after), .authFailed)

        let again = try TokenAdministration.add(path: path, name: "laptop2", role: "write")
        let added = await auth.authenticate(AuthenticationRequest(token: again.token, peer: remote, isEncrypted: true))
        XCTAssertEqual(
            added,
            .granted(.write, tokenName: "laptop2"),
            "a token added while the server runs works at once"
        )
    }

    func testAValidTokenIsGrantedWhateverItsAddressFailedBeforeAndAGuessIsRateLimited() async throws {
        let made = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let auth = authenticator()
        for _ in 0..<5 {
            let decision = await auth.authenticate(AuthenticationRequest(token: "asy_guess", peer: remote, isEncrypted: true))
            XCTAssertEqual(code(decision), .authFailed)
        }
        let guess = await auth.authenticate(AuthenticationRequest(token: "asy_guess2", peer: remote, isEncrypted: true))
        XCTAssertEqual(code(guess), .rateLimited)
        let valid = await auth.authenticate(AuthenticationRequest(token: made.token, peer: remote, isEncrypted: true))
        XCTAssertEqual(valid, .granted(.read, tokenName: "laptop"), "a cron mirror on a host someone else fails from still gets in")
        let other = try SocketAddress(ipAddress: "192.0.2.8", port: 1)
        let fromOther = await auth.authenticate(AuthenticationRequest(token: "asy_guess3", peer: other, isEncrypted: true))
        XCTAssertEqual(code(fromOther), .authFailed, "only the failing address is limited")
    }

    func testAnIPv6HostIsCountedByItsSlash64AndAMappedIPv4AddressAsIPv4() async throws {
        _ = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let auth = authenticator()
        for suffix in 1...5 {
            let peer = try SocketAddress(ipAddress: "2001:db8:1:2::\(suffix)", port: 1)
            _ = await auth.authenticate(AuthenticationRequest(token: "asy_guess", peer: peer, isEncrypted: true))
        }
        let sameNetwork = try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 1)
        let guess = await auth.authenticate(AuthenticationRequest(token: "asy_guess", peer: sameNetwork, isEncrypted: true))
        XCTAssertEqual(code(guess), .rateLimited, "a fresh address in the same /64 gets no fresh budget")
        let otherNetwork = try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)
        let elsewhere = await auth.authenticate(AuthenticationRequest(token: "asy_guess", peer: otherNetwork, isEncrypted: true))
        XCTAssertEqual(code(elsewhere), .authFailed)

        XCTAssertEqual(AuthFailureLimiter.key(for: try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)), "192.0.2.7")
        XCTAssertEqual(AuthFailureLimiter.key(for: try SocketAddress(ipAddress: "192.0.2.7", port: 9)), "192.0.2.7")
        XCTAssertEqual(AuthFailureLimiter.key(for: try SocketAddress(ipAddress: "2001:db8::1", port: 1)), "2001:db8:0:0::/64")
    }

    func testAnUnreadableTokenFileRefusesEveryToken() async throws {
        let made = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let auth = authenticator()
        try "garbage\n".write(toFile: path, atomically: true, encoding: .utf8)
        let decision = await auth.authenticate(AuthenticationRequest(token: made.token, peer: loopback, isEncrypted: false))
        XCTAssertEqual(code(decision), .internalError)
    }

    func testStartUpPolicyRefusesAnOpenServerOffLoopback() throws {
        XCTAssertThrowsError(try ServerAccessPolicy.check(host: "0.0.0.0", tokenFile: nil, tlsEnabled: false, insecureOpen: false)) {
            error in XCTAssertTrue("\(error)".contains("--insecure-open"))
        }
        XCTAssertEqual(try ServerAccessPolicy.check(host: "127.0.0.1", tokenFile: nil, tlsEnabled: false, insecureOpen: false), [])
        XCTAssertEqual(try ServerAccessPolicy.check(host: "localhost", tokenFile: nil, tlsEnabled: false, insecureOpen: false), [])
        XCTAssertEqual(try ServerAccessPolicy.check(host: "::1", tokenFile: nil, tlsEnabled: false, insecureOpen: false), [])
        XCTAssertEqual(try ServerAccessPolicy.check(host: "0.0.0.0", tokenFile: nil, tlsEnabled: false, insecureOpen: true).count, 1)
        XCTAssertEqual(try ServerAccessPolicy.check(host: "0.0.0.0", tokenFile: path, tlsEnabled: true, insecureOpen: false), [])
        XCTAssertEqual(try ServerAccessPolicy.check(host: "0.0.0.0", tokenFile: path, tlsEnabled: false, insecureOpen: false).count, 1)
    }

    func testLoopbackAddresses() throws {
        XCTAssertTrue(LoopbackAddress.contains(try SocketAddress(ipAddress: "127.0.0.1", port: 1)))
        XCTAssertTrue(LoopbackAddress.contains(try SocketAddress(ipAddress: "127.9.8.7", port: 1)))
        XCTAssertTrue(LoopbackAddress.contains(try SocketAddress(ipAddress: "::1", port: 1)))
        XCTAssertFalse(LoopbackAddress.contains(try SocketAddress(ipAddress: "192.0.2.7", port: 1)))
        XCTAssertFalse(LoopbackAddress.contains(try SocketAddress(ipAddress: "::", port: 1)))
        XCTAssertFalse(LoopbackAddress.contains(host: "0.0.0.0"))
        XCTAssertFalse(LoopbackAddress.contains(host: "example.org"))
        XCTAssertTrue(LoopbackAddress.contains(host: "[::1]"))
    }
}
