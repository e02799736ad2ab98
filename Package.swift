// swift-tools-version:6.0
import PackageDescription

// One target per concern, dependencies one way only (see design.md):
// CLDNS → DNSMessage → {ServiceModel} → Registry / Authority → Server → svcdns.
let package = Package(
    name: "svcdns",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "svcdns", targets: ["svcdns"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        // epoll and eventfd, which Swift's Glibc module leaves out: the health checker's probe loop.
        .systemLibrary(name: "CEpoll"),
        .target(name: "DNSMessage", dependencies: ["CLDNS"]),
        // The lock every module shares state behind, visible to ThreadSanitizer (Sources/Locking/Locked.swift).
        .target(name: "Locking"),
        .target(name: "ServiceModel", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(
            name: "Registry",
            dependencies: [
                "ServiceModel", "DNSMessage", "Locking",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Authority",
            dependencies: [
                "DNSMessage", "ServiceModel", "Locking",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Forwarding",
            dependencies: [
                "DNSMessage", "Locking",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "DNSMessage", "ServiceModel", "Authority", "Forwarding", "Locking",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ControlAPI",
            dependencies: [
                "Registry", "ServiceModel", "Health",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Health",
            dependencies: [
                "ServiceModel", "Locking", "CEpoll",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "svcdns",
            dependencies: [
                "DNSMessage", "ServiceModel", "Registry", "Authority", "Server", "ControlAPI", "Health", "Forwarding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "SvcDNSTesting",
            dependencies: [
                "CLDNS", "DNSMessage", "ServiceModel", "Registry", "Authority", "Server", "Locking",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "DNSMessageTests", dependencies: ["DNSMessage", "SvcDNSTesting"]),
        .testTarget(name: "ServiceModelTests", dependencies: ["ServiceModel"]),
        .testTarget(name: "LockingTests", dependencies: ["Locking"]),
        .testTarget(
            name: "RegistryTests", dependencies: ["Registry", "ServiceModel", "DNSMessage", "Locking", "SvcDNSTesting"]
        ),
        .testTarget(name: "AuthorityTests", dependencies: ["Authority", "SvcDNSTesting"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "SvcDNSTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "HealthTests",
            dependencies: [
                "Health", "ServiceModel",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ForwardingTests",
            dependencies: [
                "Forwarding", "DNSMessage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "IntegrationTests", dependencies: ["SvcDNSTesting"], exclude: ["Clients"]),
    ]
)

// The libFuzzer targets (Fuzz/, run by scripts/fuzz) join the package only when SVCDNS_FUZZ is set: they build
// only with `--sanitize fuzzer` (libFuzzer supplies `main`), which the test build does not use. Being in this
// package lets them reach the `package` entry points of each stage, as the server itself calls them.
if Context.environment["SVCDNS_FUZZ"] != nil {
    // Only the libraries and the fuzz targets, so that one `swift build` builds them all with one plan: built
    // one product at a time, each product's plan differs and rebuilds every module.
    package.targets.removeAll { $0.type == .test || $0.type == .executable || $0.name == "SvcDNSTesting" }
    package.products.removeAll()
    let support: Target.Dependency = "FuzzSupport"
    package.targets += [
        .target(
            name: "FuzzSupport",
            dependencies: ["CLDNS", "DNSMessage", "ServiceModel", "Registry", "Authority"],
            path: "Fuzz/Support"
        ),
        .executableTarget(name: "fuzz-query", dependencies: [support, "Server"], path: "Fuzz/query"),
        .executableTarget(
            name: "fuzz-tcp-stream",
            dependencies: [
                support, "Server",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Fuzz/tcp-stream"
        ),
        .executableTarget(
            name: "fuzz-upstream-answer",
            dependencies: [support, "Forwarding", "Server", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/upstream-answer"
        ),
        .executableTarget(name: "fuzz-manifest", dependencies: [support], path: "Fuzz/manifest"),
        .executableTarget(name: "fuzz-zone-file", dependencies: [support], path: "Fuzz/zone-file"),
        .executableTarget(name: "fuzz-api-body", dependencies: [support, "ControlAPI"], path: "Fuzz/api-body"),
    ]
}
