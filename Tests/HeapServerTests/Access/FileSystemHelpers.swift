import Foundation
import HeapdTesting

/// Runs `body` with the test process's umask set to `mask` (a child started in it inherits it).
func withUmask<R>(_ mask: mode_t, _ body: () throws -> R) rethrows -> R {
    let previous = umask(mask)
    defer { umask(previous) }
    return try body()
}

/// `lstat` of `path` (the link itself, not what it points to).
func fileStatus(_ path: String) throws -> stat {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: ["path": path]) }
    return info
}
