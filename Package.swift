// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "articlesync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "articlesyncd", targets: ["articlesyncd"]),
        .executable(name: "articlesync", targets: ["articlesync"]),
        .library(name: "ArticleSyncProtocol", targets: ["ArticleSyncProtocol"]),
        .library(name: "ArticleSyncClient", targets: ["ArticleSyncClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        // The client's config file (TOML). Its toml++ core is C++: about 20 s more on a clean build.
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        // The operator's metrics endpoint (--metrics-address).
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // zlib from the system (Debian zlib1g-dev); the shim wraps the init macros Swift cannot import.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // ISA-L's igzip from the system (Debian libisal-dev): the same deflate format, inflated in about
        // half zlib's time; used for the documents with a preset dictionary, the bulk of every pull.
        .systemLibrary(
            name: "CIsal",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        // A small Swift face over zlib: one-shot deflate/inflate with preset dictionaries and a hard output bound.
        .target(
            name: "Zlib",
            dependencies: ["CZlib"]
        ),
        // The article itself: the seed text format, the binary document, zlib with dictionaries.
        // Shared by the wire codec and the store; knows neither.
        .target(
            name: "ArticleModel",
            dependencies: ["Zlib", "CZlib", "CIsal"]
        ),
        // Frames and messages of Protocol/PROTOCOL.md over the shared vocabulary of ArticleModel; NIO and
        // zlib, nothing of storage.
        .target(
            name: "ArticleSyncProtocol",
            dependencies: [
                "ArticleModel",
                "Zlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // SQLite (GRDB) store of articles with revisions, tombstones and digests. Nothing of the wire.
        .target(
            name: "ArticleStore",
            dependencies: [
                "ArticleModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ArticleSyncServer",
            dependencies: [
                "ArticleModel",
                "ArticleSyncProtocol",
                "ArticleStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "ArticleSyncClient",
            dependencies: [
                "ArticleModel",
                "Zlib",
                "ArticleSyncProtocol",
                "ArticleStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // `articlesync read`: the replica as a small web app on 127.0.0.1 (NIOHTTP1, no framework:
        // see ReaderServer.swift).
        .target(
            name: "ArticleSyncReader",
            dependencies: [
                "ArticleModel",
                "ArticleStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "articlesyncd",
            dependencies: [
                "ArticleSyncServer",
                "ArticleStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // Self-signed certificates for `articlesyncd cert generate`.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "articlesync",
            dependencies: [
                "ArticleSyncClient",
                "ArticleSyncReader",
                "ArticleStore",
                "ArticleModel",
                "ArticleSyncProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Reliability (issue 7): libFuzzer targets. Built with sanitizers only by scripts/fuzz
        // (-DFUZZING); a normal build links them as plain input replayers.
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"]),
        .executableTarget(name: "FuzzClientStream", dependencies: ["FuzzSupport", "ArticleSyncProtocol"]),
        .executableTarget(name: "FuzzServerStream", dependencies: ["FuzzSupport", "ArticleSyncProtocol"]),
        .executableTarget(name: "FuzzSeedFormat", dependencies: ["FuzzSupport", "ArticleModel"]),
        // scripts/load: many concurrent pulling clients and a pushing writer against one server.
        .executableTarget(
            name: "articlesync-load",
            // Its few flags are read by hand. Without ArgumentParser among its dependencies the
            // generate-manual plugin (scripts/install) leaves it out instead of failing on it.
            dependencies: [
                "ArticleSyncClient",
                "ArticleSyncProtocol",
            ]
        ),
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "ArticleSyncTestSupport",
                "ArticleSyncClient",
                "ArticleSyncProtocol",
                "ArticleStore",
                "ArticleModel",
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Helpers for the tests that drive the real executables (shared by client and reliability tests).
        .target(
            name: "ArticleSyncTestSupport",
            path: "Tests/TestSupport"
        ),
        // A server in the test's own process, for the server's and the client's loopback tests.
        .target(
            name: "ArticleSyncServerTestSupport",
            dependencies: [
                "ArticleSyncServer",
                "ArticleStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/ServerTestSupport"
        ),
        // The reader over HTTP on loopback, and end to end in headless Chromium.
        .testTarget(
            name: "ArticleSyncReaderTests",
            dependencies: ["ArticleSyncReader", "ArticleStore", "ArticleModel", "ArticleSyncTestSupport"]
        ),
        .testTarget(
            name: "ZlibTests",
            dependencies: ["Zlib"]
        ),
        .testTarget(
            name: "ArticleModelTests",
            dependencies: ["ArticleModel", "ArticleSyncTestSupport"]
        ),
        .testTarget(
            name: "ArticleSyncProtocolTests",
            dependencies: [
                "ArticleSyncProtocol",
                "ArticleSyncTestSupport",
                "Zlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ArticleStoreTests",
            dependencies: ["ArticleStore", "ArticleModel", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "ArticleSyncServerTests",
            dependencies: [
                "ArticleSyncTestSupport",
                "ArticleSyncServerTestSupport",
                "ArticleSyncServer",
                "ArticleSyncProtocol",
                "ArticleStore",
                "ArticleModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "ArticleSyncClientTests",
            dependencies: [
                "ArticleSyncTestSupport",
                "ArticleSyncServerTestSupport",
                "ArticleModel",
                "ArticleSyncClient",
                "ArticleSyncServer",
                "ArticleStore",
                "ArticleSyncProtocol",
                "Zlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Certificates made in the TLS tests (valid, expired, from another CA).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                // An in-process server over a store a test can act on between two batches.
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
