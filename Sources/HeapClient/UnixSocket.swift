import Glibc

/// Thin, error-typed wrappers over the few socket calls the client needs.
///
/// Kept apart from `HeapConnection` so that the connection's logic (buffering, decoding, failure policy)
/// reads without C details, and so that every `errno` is mapped to a `ClientError` in one place.
enum UnixSocket {
    /// Longest path that fits `sun_path` with its terminating NUL.
    static let maxPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Opens a stream socket connected to `path`, with send and receive timeouts of `timeout` seconds
    /// (none if `timeout <= 0`).
    static func connect(path: String, timeout: Double) throws(ClientError) -> Int32 {
        let pathBytes = Array(path.utf8)
        guard pathBytes.count <= maxPathLength else {
            throw .pathTooLong(path)
        }
        guard !pathBytes.contains(0) else {
            throw .connect(path: path, errno: EINVAL)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw .connect(path: path, errno: errno)
        }
        do {
            // Set before connect: on Linux a blocking AF_UNIX connect waits for backlog room up to SO_SNDTIMEO.
            try setTimeout(descriptor, option: SO_SNDTIMEO, seconds: timeout)
            try setTimeout(descriptor, option: SO_RCVTIMEO, seconds: timeout)
            try connect(descriptor, to: &address, path: path)
        } catch {
            _ = Glibc.close(descriptor)
            throw error
        }
        return descriptor
    }

    private static func connect(_ descriptor: Int32, to address: inout sockaddr_un, path: String) throws(ClientError) {
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        while true {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, size) }
            }
            if result == 0 {
                return
            }
            switch errno {
            case EINTR:
                // An interrupted connect keeps going in the kernel; retrying reports EISCONN once it is done.
                continue
            case EISCONN:
                return
            case EAGAIN:
                throw .timeout
            case let code:
                throw .connect(path: path, errno: code)
            }
        }
    }

    private static func setTimeout(_ descriptor: Int32, option: Int32, seconds: Double) throws(ClientError) {
        var value = timeval()
        if seconds > 0 {
            let clamped = min(seconds, Double(Int32.max))
            let whole = clamped.rounded(.down)
            value.tv_sec = Int(whole)
            value.tv_usec = Int((clamped - whole) * 1_000_000)
            if value.tv_sec == 0 && value.tv_usec == 0 {
                // A zero timeval means "wait forever", the opposite of a tiny timeout.
                value.tv_usec = 1
            }
        }
        guard setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw .io(errno: errno)
        }
    }

    /// Writes all of `bytes`, retrying after signals and short writes.
    ///
    /// Uses `MSG_NOSIGNAL` so that a server that went away surfaces as `.closedByServer` instead of a
    /// process-killing `SIGPIPE`.
    static func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) throws(ClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                Glibc.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: throw .timeout
            case EPIPE, ECONNRESET: throw .closedByServer
            case let code: throw .io(errno: code)
            }
        }
    }

    /// Reads whatever is available (at least one byte) into `buffer`, returning the byte count.
    static func receive(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(ClientError) -> Int {
        while true {
            let received = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if received > 0 {
                return received
            }
            if received == 0 {
                throw .closedByServer
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: throw .timeout
            case ECONNRESET: throw .closedByServer
            case let code: throw .io(errno: code)
            }
        }
    }
}
