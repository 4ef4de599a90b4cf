import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Checks a socket path before binding: a live daemon behind it is an error, a stale file is removed.
enum SocketFile {
    static func prepare(_ path: String) throws {
        guard path.utf8.count < 108 else {
            throw ServerStartError(
                description: "socket path too long (max 107 bytes): \(path)", errnoValue: ENAMETOOLONG)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            return
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw ServerStartError(
                description: "\(path) exists and is not a socket; refusing to replace it", errnoValue: EEXIST)
        }
        if isLive(path) {
            throw ServerStartError(
                description: "another heapd is already listening on \(path); stop it or choose --socket",
                errnoValue: EADDRINUSE)
        }
        unlink(path)
    }

    /// Whether something accepts connections on `path`.
    static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = socketAddress(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// `path` as a Unix socket address (the caller checked it fits).
    static func socketAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        return address
    }
}
