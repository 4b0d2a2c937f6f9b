import ArticleSyncClient
import Foundation
import XCTest

final class SecurityClientTokenTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("client-token-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testTheTokenComesFromTheFileThenTheEnvironment() throws {
        let file = directory + "/token"
        try "asy_fromfile\n".write(toFile: file, atomically: true, encoding: .utf8)
        let environment = ["ARTICLESYNC_TOKEN": "asy_fromenv"]

        XCTAssertEqual(try AccessTokenSource.load(tokenFile: file, environment: environment), "asy_fromfile")
        XCTAssertEqual(try AccessTokenSource.load(tokenFile: nil, environment: environment), "asy_fromenv")
        XCTAssertEqual(try AccessTokenSource.load(tokenFile: nil, environment: [:]), "")
    }

    func testABadTokenFileIsAUsageErrorNamingTheFile() throws {
        let empty = directory + "/empty"
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        for (path, expected) in [(empty, "holds no token"), (directory + "/missing", "cannot read the token file")] {
            XCTAssertThrowsError(try AccessTokenSource.load(tokenFile: path, environment: [:])) { error in
                let error = error as? ClientError
                XCTAssertEqual(error?.status, .usage)
                XCTAssertTrue(error?.message.contains(expected) == true, "\(String(describing: error))")
                XCTAssertTrue(error?.message.contains(path) == true)
            }
        }
    }

    func testATokenFileOthersCanReadIsNamedWithTheFix() throws {
        let file = directory + "/token"
        try "asy_shared\n".write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        XCTAssertNil(AccessTokenSource.permissionWarning(tokenFile: file))
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file)
        let group = try XCTUnwrap(AccessTokenSource.permissionWarning(tokenFile: file))
        XCTAssertTrue(group.contains("readable by its group (mode 640)") && group.contains("chmod 600 \(file)"), group)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let everyone = try XCTUnwrap(AccessTokenSource.permissionWarning(tokenFile: file))
        XCTAssertTrue(everyone.contains("readable by every user of this machine (mode 644)"), everyone)
        // The token is still used: a mounted secret is often world-readable.
        XCTAssertEqual(try AccessTokenSource.load(tokenFile: file, environment: [:]), "asy_shared")
    }

    func testATokenIsNeverSentInClearTextOffLoopback() {
        let remote = ServerAddress(host: "192.0.2.7", port: 7420)
        XCTAssertThrowsError(try TokenTransportPolicy.check(tokenPresent: true, tlsEnabled: false, address: remote)) { error in
            XCTAssertTrue((error as? ClientError)?.message.contains("--tls") == true)
        }
        XCTAssertNoThrow(try TokenTransportPolicy.check(tokenPresent: true, tlsEnabled: true, address: remote))
        XCTAssertNoThrow(try TokenTransportPolicy.check(tokenPresent: false, tlsEnabled: false, address: remote))
        XCTAssertNoThrow(try TokenTransportPolicy.check(tokenPresent: true, tlsEnabled: false, address: ServerAddress(host: "127.0.0.1")))
        XCTAssertNoThrow(try TokenTransportPolicy.check(tokenPresent: true, tlsEnabled: false, address: ServerAddress(host: "localhost")))
        XCTAssertNoThrow(try TokenTransportPolicy.check(tokenPresent: true, tlsEnabled: false, address: ServerAddress(host: "::1")))
    }

    func testFingerprintsParseInTheFormsPeopleCopy() {
        let text = "SHA256:" + (0..<32).map { String(format: "%02x", $0) }.joined(separator: ":")
        let fingerprint = CertificateFingerprint(parsing: text)
        XCTAssertEqual(fingerprint?.description, text)
        XCTAssertEqual(CertificateFingerprint(parsing: text.uppercased()), fingerprint)
        XCTAssertEqual(CertificateFingerprint(parsing: "sha256 Fingerprint=" + text.dropFirst(7).uppercased()), fingerprint)
        XCTAssertEqual(CertificateFingerprint(parsing: String(text.dropFirst(7).filter { $0 != ":" })), fingerprint)
        XCTAssertNil(CertificateFingerprint(parsing: "SHA256:abcd"))
        XCTAssertNil(CertificateFingerprint(parsing: String(text.dropLast()) + "g"))
    }

    func testKnownServersRoundTripAndComplainAboutBrokenLines() throws {
        let path = directory + "/deep/folder/known_servers"
        var known = try KnownServers(path: path)
        XCTAssertTrue(known.entries.isEmpty)
        let first = CertificateFingerprint(certificateDER: [1, 2, 3])
        let second = CertificateFingerprint(certificateDER: [4, 5, 6])
        try known.remember(first, for: ServerAddress(host: "10.0.0.5"))
        try known.remember(second, for: ServerAddress(host: "::1", port: 9))
        try known.remember(second, for: ServerAddress(host: "10.0.0.5"))

        let reread = try KnownServers(path: path)
        XCTAssertEqual(reread.entry(for: ServerAddress(host: "10.0.0.5"))?.fingerprint, second)
        XCTAssertEqual(reread.entry(for: ServerAddress(host: "::1", port: 9))?.fingerprint, second)
        XCTAssertEqual(reread.entries.count, 2)

        try "10.0.0.5:7420 nonsense\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try KnownServers(path: path)) { error in
            XCTAssertTrue("\(error)".contains("line 1"))
        }
    }

    func testTheDefaultKnownServersPathFollowsXDG() {
        XCTAssertEqual(KnownServers.defaultPath(environment: ["HOME": "/home/ada"]), "/home/ada/.local/share/articlesync/known_servers")
        XCTAssertEqual(
            KnownServers.defaultPath(environment: ["HOME": "/home/ada", "XDG_DATA_HOME": "/data"]),
            "/data/articlesync/known_servers"
        )
    }
}
