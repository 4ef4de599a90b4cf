import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the programs under test are: the executables `swift build` put next to the test bundle, each
/// overridable with `$NAME_BINARY` (`HEAPD_BINARY`, `HEAPCTL_BINARY`), and tools found on `$PATH`.
public enum BuildProducts {
    /// The directory `swift build` put the package's executables in: the one holding the test bundle.
    public static var directory: URL {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    /// `$PROGRAM_BINARY` if set, else `program` from the build directory.
    public static func binary(_ program: String) -> String {
        if let explicit = ProcessInfo.processInfo.environment[program.uppercased() + "_BINARY"] {
            return explicit
        }
        return directory.appendingPathComponent(program).path
    }

    /// The heapd under test.
    public static var heapd: String { binary("heapd") }

    /// The heapctl under test.
    public static var heapctl: String { binary("heapctl") }

    /// The first `program` on `$PATH`, or `nil`.
    public static func onPath(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    /// The repository's root folder (this file is `Tests/HeapdTesting/BuildProducts.swift`), for the
    /// scripts and fixtures the tests read (`tests/tracemalloc/oracle.py`, `systemd/`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
}

/// Whether this test process (and so the heapd built beside it) runs under the address or thread
/// sanitizer: their shadow memory cannot start under `ulimit -v`, and they multiply RSS and time, so
/// tests of address-space limits or of memory figures skip themselves there, and timeouts grow.
public let runningUnderSanitizer: Bool = {
    let handle = dlopen(nil, RTLD_NOW)
    return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
}()

/// Makes a fresh directory under /tmp with a short name (a socket path must fit in sun_path's 107
/// bytes); the caller removes it. Every name starts with `hk` (the kit), then `-tag` if given, so a
/// directory a test left behind is easy to find.
public func makeTemporaryDirectory(tag: String? = nil) throws -> String {
    var template = Array("/tmp/hk\(tag.map { "-" + $0 } ?? "").XXXXXX".utf8CString)
    guard let result = mkdtemp(&template) else {
        throw CocoaError(.fileWriteUnknown)
    }
    return String(cString: result)
}
