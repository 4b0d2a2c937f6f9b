import ArticleSyncTestSupport
import Foundation
import Testing

/// `articlesyncd serve` that cannot listen says which address and which flag, not SwiftNIO's
/// "bind(descriptor:ptr:bytes:)" text.
@Suite struct ServeListenFailureTests {
    static func temporaryDirectory() throws -> String {
        var template = Array((FileManager.default.temporaryDirectory.path + "/articlesync-listen.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        return String(cString: made)
    }

    @Test func aBusyPortIsNamedWithTheFlagThatChangesIt() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (first, address) = try await ServerLaunch.start(["serve", "--store", root + "/first.sqlite", "--port", "0"])
        defer { first.terminate() }
        let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })

        let second = try ChildProcess(Binaries.server, ["serve", "--store", root + "/second.sqlite", "--port", "\(port)"])
        defer { second.terminate() }
        let status = try await second.wait(timeout: .seconds(60))
        #expect(status != 0)
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(port) (--port): port \(port) is already in use"), "\(second.stderr)")
        #expect(second.stderr.contains("choose another port with --port"), "\(second.stderr)")
        #expect(!second.stderr.contains("bind(descriptor"), "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/second.sqlite"), "nothing is created before the port is known to be free")

        // The metrics on the busy port: that flag is named, not --port.
        let metrics = try ChildProcess(
            Binaries.server, ["serve", "--store", root + "/third.sqlite", "--port", "0", "--metrics-address", "\(port)"])
        defer { metrics.terminate() }
        #expect(try await metrics.wait(timeout: .seconds(60)) != 0)
        #expect(metrics.stderr.contains("cannot listen on 127.0.0.1:\(port) (--metrics-address)"), "\(metrics.stderr)")
        #expect(metrics.stderr.contains("choose another port with --metrics-address"), "\(metrics.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/third.sqlite"))

        let same = try ChildProcess(Binaries.server, ["serve", "--store", root + "/fourth.sqlite", "--port", "7499", "--metrics-address", "7499"])
        defer { same.terminate() }
        #expect(try await same.wait(timeout: .seconds(60)) == 64)
        #expect(same.stderr.contains("--metrics-address and --port both name port 7499"), "\(same.stderr)")
    }

    @Test func anAddressThatIsNotThisMachinesIsNamedWithHost() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // 192.0.2.1 is TEST-NET-1: never an address of this machine; nothing is sent to it.
        let server = try ChildProcess(
            Binaries.server, ["serve", "--store", root + "/store.sqlite", "--host", "192.0.2.1", "--port", "0", "--insecure-open"])
        defer { server.terminate() }
        #expect(try await server.wait(timeout: .seconds(60)) != 0)
        #expect(server.stderr.contains("192.0.2.1 is not an address of this machine. Check --host"), "\(server.stderr)")
    }
}
