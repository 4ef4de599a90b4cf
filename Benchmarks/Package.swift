// swift-tools-version:6.1
import PackageDescription

// The benchmark lives in its own package (as SwiftNIO keeps its benchmarks), so the main build stays
// lean; it depends on the root package by path.
let package = Package(
    name: "heapd-benchmarks",
    dependencies: [.package(name: "heapd", path: "../")],
    targets: [
        .executableTarget(
            name: "HeapBench",
            dependencies: [.product(name: "HeapCore", package: "heapd")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
