import ArticleSyncProtocol
import Foundation
import Testing

/// What a backup host installs: the systemd units, `scripts/install`, completions, the man pages'
/// input, and `--version`.
///
/// The man pages themselves come from swift-argument-parser's generate-manual plugin, which builds
/// every product in release mode and is a `swift package` command: a test runs inside `swift
/// test`, which holds SwiftPM's lock on .build, so it cannot run the plugin. What is tested here is
/// the plugin's input (`--experimental-dump-help`, which generate-manual reads) and everything
/// `scripts/install --no-build` installs; the plugin run itself is scripts/install's.
@Suite struct InstallAndServiceTests {
    static let units = ["articlesyncd.service", "articlesync-mirror.service", "articlesync-mirror.timer", "articlesync-follow.service"]
    static let contrib = Binaries.packageRoot.appendingPathComponent("contrib/systemd").path

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String]) async throws -> Run {
        let child = try ChildProcess(URL(fileURLWithPath: executable), arguments)
        defer { child.terminate() }
        let status = try await child.wait(timeout: .seconds(120))
        return Run(status: status, stdout: child.stdout, stderr: child.stderr)
    }

    static var systemdAnalyze: String? {
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The units as shipped, with /usr/local/bin pointed at this build: verify checks that every
    /// ExecStart names an executable that exists.
    static func unitsForThisBuild(in directory: String) throws -> [String] {
        try units.map { name in
            let text = try String(contentsOfFile: contrib + "/" + name, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/", with: Binaries.directory.path + "/")
            let path = directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    @Test func theSystemdUnitsPassSystemdAnalyzeVerifyWithoutAWarning() async throws {
        guard let analyze = Self.systemdAnalyze else {
            print("SKIPPED: systemd-analyze is not installed (Debian package systemd; scripts/test installs it)")
            return
        }
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let paths = try Self.unitsForThisBuild(in: temp.path)
        let verified = try await Self.run(analyze, ["verify", "--man=no"] + paths)
        #expect(verified.status == 0, "\(verified.stderr)")
        // verify exits 0 on an unknown key or a bad value, which it only prints.
        #expect(verified.stderr.isEmpty && verified.stdout.isEmpty, "\(verified.stdout)\(verified.stderr)")

        // The check is real: a misspelt key and a bad value are reported.
        let broken = temp.path + "/broken.service"
        try (try String(contentsOfFile: paths[0], encoding: .utf8))
            .replacingOccurrences(of: "ProtectSystem=strict", with: "ProtectSystem=strickt")
            .replacingOccurrences(of: "NoNewPrivileges=yes", with: "NoNewPrivilege=yes")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let flagged = try await Self.run(analyze, ["verify", "--man=no", broken])
        #expect(flagged.stderr.contains("strickt") && flagged.stderr.contains("NoNewPrivilege"), "\(flagged.stderr)")
    }

    @Test func theServiceUnitsAreHardened() async throws {
        for name in Self.units where name.hasSuffix(".service") {
            let text = try String(contentsOfFile: Self.contrib + "/" + name, encoding: .utf8)
            for setting in ["DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "ProtectHome=yes", "PrivateTmp=yes", "StateDirectory=", "CapabilityBoundingSet=\n"] {
                #expect(text.contains(setting), "\(name) lacks \(setting)")
            }
        }
        let follow = try String(contentsOfFile: Self.contrib + "/articlesync-follow.service", encoding: .utf8)
        #expect(follow.contains("pull --follow"))
        let timer = try String(contentsOfFile: Self.contrib + "/articlesync-mirror.timer", encoding: .utf8)
        #expect(timer.contains("Unit=articlesync-mirror.service") && timer.contains("Persistent=true"))

        guard let analyze = Self.systemdAnalyze else {
            print("SKIPPED: systemd-analyze security (systemd-analyze is not installed)")
            return
        }
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        for path in try Self.unitsForThisBuild(in: temp.path) where path.hasSuffix(".service") {
            // systemd rates exposure from 0 (locked down) to 10, and 2 or below is "OK"; --threshold
            // counts in tenths.
            let rated = try await Self.run(analyze, ["security", "--offline=yes", "--no-pager", "--threshold=20", path])
            #expect(rated.status == 0, "\(path): \(rated.stdout.split(separator: "\n").last ?? "")")
        }
    }

    @Test func installPutsTheBinariesAndTheCompletionsUnderThePrefix() async throws {
        let temp = try TempDirectory()
        defer { temp.cleanUp() }
        let prefix = temp.path + "/usr"
        let script = Binaries.packageRoot.appendingPathComponent("scripts/install").path
        let installed = try await Self.run(script, ["--prefix", prefix, "--no-build", "--bin-dir", Binaries.directory.path])
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(installed.stdout.contains("man pages: not made with --no-build"), "\(installed.stdout)")
        for tool in ["articlesyncd", "articlesync"] {
            let binary = prefix + "/bin/" + tool
            #expect(FileManager.default.isExecutableFile(atPath: binary))
            #expect(try await Self.run(binary, ["--version"]).stdout == ArticleSyncVersion.current)
            let bash = try String(contentsOfFile: prefix + "/share/bash-completion/completions/" + tool, encoding: .utf8)
            #expect(bash.contains("complete") && bash.contains(tool))
            #expect(FileManager.default.fileExists(atPath: prefix + "/share/zsh/site-functions/_" + tool))
            #expect(FileManager.default.fileExists(atPath: prefix + "/share/fish/vendor_completions.d/\(tool).fish"))
        }
        let bash = try String(contentsOfFile: prefix + "/share/bash-completion/completions/articlesync", encoding: .utf8)
        for subcommand in ["pull", "status", "config", "verify", "push"] {
            #expect(bash.contains(subcommand), "the bash completion lacks \(subcommand)")
        }

        let unknown = try await Self.run(script, ["--prefixx", prefix])
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown argument '--prefixx'"), "\(unknown.stderr)")
    }

    @Test func bothExecutablesReportTheOneSharedVersion() async throws {
        let client = try await Self.run(Binaries.client.path, ["--version"])
        let server = try await Self.run(Binaries.server.path, ["--version"])
        #expect(client.status == 0 && server.status == 0)
        #expect(client.stdout == ArticleSyncVersion.current)
        #expect(server.stdout == ArticleSyncVersion.current)
    }

    /// generate-manual reads this JSON (ArgumentParserToolInfo) and writes the page from it.
    @Test func theManualPagesInputDescribesEveryCommand() async throws {
        for (binary, commands) in [
            (Binaries.client.path, ["pull", "status", "list", "show", "search", "export", "verify", "push", "config"]),
            (Binaries.server.path, ["serve", "import", "purge-tombstones", "token", "cert"]),
        ] {
            let dumped = try await Self.run(binary, ["--experimental-dump-help"])
            #expect(dumped.status == 0, "\(dumped.stderr)")
            let json = try #require(jsonObject(dumped.stdout), "\(dumped.stdout.prefix(200))")
            let command = try #require(json["command"] as? [String: Any])
            #expect((command["abstract"] as? String)?.isEmpty == false)
            let names = Set(((command["subcommands"] as? [[String: Any]]) ?? []).compactMap { $0["commandName"] as? String })
            for name in commands {
                #expect(names.contains(name), "\(binary) lacks \(name) in its dump: \(names)")
            }
        }
    }
}

/// A temp directory removed on `cleanUp()`.
private struct TempDirectory {
    let path: String

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/articlesync-install.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        path = String(cString: made)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}
