// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "heapd",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HeapCore", targets: ["HeapCore"]),
        .library(name: "HeapImageFormat", targets: ["HeapImageFormat"]),
        .library(name: "HeapProtocol", targets: ["HeapProtocol"]),
        .library(name: "HeapServer", targets: ["HeapServer"]),
        .library(name: "HeapClient", targets: ["HeapClient"]),
        .executable(name: "heapd", targets: ["heapd"]),
        .executable(name: "heapctl", targets: ["heapctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The textual forms heapd and heapctl share (byte counts, Python's tracemalloc sizes and lines,
        // source positions): heapctl imports this, not HeapCore.
        .target(name: "HeapFormatting", swiftSettings: strict),
        // What reading and analysing a heap image needs (the format, the checking reader, the dominator
        // tree and retained sizes) and the object kinds and sizes it counts, which the heap allocates
        // with: HeapCore builds on it, and heapctl reads images with it without linking the heap.
        .target(name: "HeapImageFormat", dependencies: ["HeapFormatting"], swiftSettings: strict),
        // A prefetch hint for the collector's walks (a static inline C function: Swift has none).
        .target(name: "CPrefetch"),
        .target(
            name: "HeapCore", dependencies: ["CPrefetch", "HeapFormatting", "HeapImageFormat"], swiftSettings: strict),
        .target(name: "HeapProtocol", swiftSettings: strict),
        .target(
            name: "HeapServer",
            dependencies: [
                "HeapCore", "HeapProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(name: "HeapClient", dependencies: ["HeapProtocol"], swiftSettings: strict),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "HeapSystemd",
            dependencies: [
                "CSystemd", "HeapCore", "HeapFormatting", "HeapServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "heapd",
            dependencies: [
                "HeapServer", "HeapSystemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // heapctl speaks the protocol to a live heapd and reads images offline with HeapImageFormat; it
        // never links HeapCore (HeapctlTests.LinkBoundaryTests checks the binary's symbols).
        .executableTarget(
            name: "heapctl",
            dependencies: [
                "HeapClient", "HeapProtocol", "HeapFormatting", "HeapImageFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // libFuzzer targets (Fuzz/README.md): scripts/fuzz.sh builds them with -sanitize=fuzzer,address; a
        // plain build compiles each into an executable that does nothing, so they build with the package.
        .executableTarget(
            name: "FuzzRequestDecoder", dependencies: ["HeapProtocol"], path: "Fuzz/FuzzRequestDecoder",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "FuzzCommands",
            dependencies: [
                "HeapCore", "HeapProtocol", "HeapServer", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/FuzzCommands",
            swiftSettings: strict
        ),
        // The test kit (Tests/HeapdTesting): the one process harness (heapd on a temporary socket, every
        // child started with posix_spawn and stopped by pid), the shared tear-down, the CPython-oracle
        // runner, the seeded generator and the reply assertions. Every test that starts a process, asks
        // CPython or draws seeded numbers goes through it.
        .target(
            name: "HeapdTesting",
            dependencies: ["HeapClient", "HeapProtocol"],
            path: "Tests/HeapdTesting",
            swiftSettings: strict
        ),
        .testTarget(name: "HeapdTestingTests", dependencies: ["HeapdTesting"], swiftSettings: strict),
        .testTarget(name: "HeapFormattingTests", dependencies: ["HeapFormatting"], swiftSettings: strict),
        .testTarget(name: "HeapImageFormatTests", dependencies: ["HeapImageFormat"], swiftSettings: strict),
        .testTarget(name: "HeapCoreTests", dependencies: ["HeapCore", "HeapdTesting"], swiftSettings: strict),
        .testTarget(name: "HeapProtocolTests", dependencies: ["HeapProtocol", "HeapdTesting"], swiftSettings: strict),
        .testTarget(name: "HeapClientTests", dependencies: ["HeapClient", "HeapProtocol"], swiftSettings: strict),
        .testTarget(
            name: "HeapServerTests",
            dependencies: [
                "HeapServer", "HeapClient", "HeapProtocol", "HeapCore", "HeapdTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeapctlTests", dependencies: ["HeapClient", "HeapProtocol", "HeapdTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeapSystemdTests",
            dependencies: [
                "HeapSystemd", "HeapServer", "HeapClient", "HeapProtocol", "HeapdTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
