import ArticleSyncProtocol
import ArticleSyncServer
import Foundation
import XCTest

final class SecurityTokenFileTests: XCTestCase {
    private var directory: URL!
    private var path: String { directory.appendingPathComponent("tokens").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testTokenFileHoldsOnlyTheHashNeverTheToken() throws {
        let made = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let bytes = try String(contentsOfFile: path, encoding: .utf8)

        XCTAssertTrue(made.token.hasPrefix(AccessToken.prefix))
        XCTAssertFalse(bytes.contains(made.token))
        XCTAssertFalse(bytes.contains(String(made.token.dropFirst(AccessToken.prefix.count))))
        XCTAssertTrue(bytes.contains("laptop read \(made.entry.created) sha256:\(TokenHash(of: made.token))"))
    }

    func testTokenFileIsWrittenWithMode0600WhateverTheUmask() throws {
        let old = umask(0)
        defer { umask(old) }
        try TokenAdministration.add(path: path, name: "a", role: "write")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testTokensAreLongRandomAndDistinct() {
        let tokens = (0..<100).map { _ in AccessToken.generate() }
        XCTAssertEqual(Set(tokens).count, 100)
        for token in tokens {
            XCTAssertEqual(token.count, AccessToken.prefix.count + 43)
            XCTAssertTrue(AccessToken.looksLikeToken(Substring(token)))
        }
    }

    func testAddListRevoke() throws {
        let reader = try TokenAdministration.add(path: path, name: "laptop", role: "read")
        let writer = try TokenAdministration.add(path: path, name: "editor@desk", role: "write")

        let listed = try TokenAdministration.list(path: path)
        XCTAssertEqual(listed.map(\.name), ["laptop", "editor@desk"])
        XCTAssertEqual(listed.map(\.role), [.read, .write])

        let file = try TokenFile.load(path: path).file
        XCTAssertEqual(file.entry(forToken: reader.token)?.name, "laptop")
        XCTAssertEqual(file.entry(forToken: writer.token)?.role, .write)
        XCTAssertNil(file.entry(forToken: "asy_wrong"))

        let revoked = try TokenAdministration.revoke(path: path, name: "laptop")
        XCTAssertEqual(revoked.name, "laptop")
        XCTAssertEqual(try TokenAdministration.list(path: path).map(\.name), ["editor@desk"])
        XCTAssertNil(try TokenFile.load(path: path).file.entry(forToken: reader.token))
    }

    func testDuplicateAndUnknownNamesAreRefusedWithASentence() throws {
        try TokenAdministration.add(path: path, name: "laptop", role: "read")
        XCTAssertThrowsError(try TokenAdministration.add(path: path, name: "laptop", role: "write")) { error in
            XCTAssertEqual(error as? TokenFileError, .duplicateName("laptop"))
        }
        XCTAssertThrowsError(try TokenAdministration.revoke(path: path, name: "phone")) { error in
            XCTAssertTrue("\(error)".contains("no token is named \"phone\""))
        }
        XCTAssertThrowsError(try TokenAdministration.add(path: path, name: "has space", role: "read"))
        XCTAssertThrowsError(try TokenAdministration.add(path: path, name: "x", role: "admin"))
    }

    func testRenderedFileParsesBackToTheSameEntries() throws {
        let entries = [
            TokenFile.Entry(name: "a", role: .read, created: "2026-01-02T03:04:05Z", hash: TokenHash(of: "one")),
            TokenFile.Entry(name: "b.c-d_e", role: .write, created: "2026-12-31T23:59:59Z", hash: TokenHash(of: "two")),
        ]
        let text = TokenFile(entries: entries).rendered()
        XCTAssertTrue(text.hasPrefix("# articlesync access tokens"))
        XCTAssertEqual(try TokenFile(parsing: text).entries, entries)
    }

    func testParserNamesTheLineAndRefusesATokenInClearText() {
        let token = AccessToken.generate()
        let cases: [(String, String)] = [
            ("# c\n\nlaptop read 2026-01-02T03:04:05Z \(token)\n", "line 3: holds what looks like a token in clear text"),
            ("laptop read 2026-01-02T03:04:05Z\n", "line 1: expected 4 fields"),
            ("laptop admin 2026-01-02T03:04:05Z sha256:\(TokenHash(of: "x"))\n", "line 1: the role must be read or write"),
            ("laptop read yesterday sha256:\(TokenHash(of: "x"))\n", "line 1: the creation time"),
            ("laptop read 2026-01-02T03:04:05Z sha256:abc\n", "line 1: the hash must be"),
            (
                "a read 2026-01-02T03:04:05Z sha256:\(TokenHash(of: "x"))\na write 2026-01-02T03:04:05Z sha256:\(TokenHash(of: "y"))\n",
                "line 2: the name \"a\" appears twice"
            ),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try TokenFile(parsing: text, path: "tokens")) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should contain \(expected)")
                XCTAssertTrue("\(error)".hasPrefix("tokens line"), "\(error)")
            }
        }
    }

    func testHashHexParsesEitherCaseAndRejectsOtherText() {
        let hash = TokenHash(of: "secret")
        XCTAssertEqual(TokenHash(hex: Substring(hash.description.uppercased())), hash)
        XCTAssertNil(TokenHash(hex: Substring(String(hash.description.dropLast()))))
        XCTAssertNil(TokenHash(hex: Substring(String(hash.description.dropLast()) + "g")))
    }

    func testConstantTimeEqualsComparesEveryByte() {
        let a = [UInt8](repeating: 7, count: 32)
        for position in [0, 15, 31] {
            var b = a
            b[position] ^= 0x01
            XCTAssertFalse(ConstantTime.equals(a, b), "a difference at byte \(position) must be seen")
        }
        XCTAssertTrue(ConstantTime.equals(a, a))
        XCTAssertFalse(ConstantTime.equals(a, Array(a.dropLast())))
        XCTAssertTrue(TokenHash(of: "x").constantTimeEquals(TokenHash(of: "x")))
        XCTAssertFalse(TokenHash(of: "x").constantTimeEquals(TokenHash(of: "y")))
    }

    func testLookupFindsAnEntryWhereverItIsInTheFile() {
        // The lookup has no early exit: the last entry is found like the first.
        let entries = (0..<50).map {
            TokenFile.Entry(name: "t\($0)", role: .read, created: "2026-01-02T03:04:05Z", hash: TokenHash(of: "token-\($0)"))
        }
        let file = TokenFile(entries: entries)
        XCTAssertEqual(file.entry(forToken: "token-0")?.name, "t0")
        XCTAssertEqual(file.entry(forToken: "token-49")?.name, "t49")
        XCTAssertNil(file.entry(forToken: "token-50"))
    }
}
