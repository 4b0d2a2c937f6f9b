import Foundation

/// Where the built `articlesyncd` and `articlesync` executables are.
///
/// The end-to-end tests drive the real programs, as users do. `swift build --build-tests` builds
/// every product into the same directory as the test bundle, so we look there first (the bundle's
/// own directory), then in `<package>/.build/debug` found from this file's path; the environment
/// variable ARTICLESYNC_BIN_DIR overrides both (e.g. to test a release build).
public enum Binaries {
    public static let directory: URL = {
        let manager = FileManager.default
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["ARTICLESYNC_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: override))
        }
        // Linux: the .xctest is an executable in the products directory. macOS: a bundle in it.
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        for candidate in candidates
        where manager.isExecutableFile(atPath: candidate.appendingPathComponent("articlesyncd").path)
            && manager.isExecutableFile(atPath: candidate.appendingPathComponent("articlesync").path)
        {
            return candidate
        }
        fatalError("articlesyncd/articlesync not found in \(candidates.map(\.path)); run `swift build --build-tests` first")
    }()

    public static var server: URL { directory.appendingPathComponent("articlesyncd") }
    public static var client: URL { directory.appendingPathComponent("articlesync") }

    /// The package root: this file is Tests/TestSupport/Binaries.swift.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var seeds: URL { packageRoot.appendingPathComponent("seeds") }
}
