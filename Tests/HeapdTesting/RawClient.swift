import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A client socket with nothing on top, for the abusive clients of the limit tests: one that sends
/// without ever reading, one that stops in the middle of a request. Sends never block (a full socket
/// just takes fewer bytes); reads wait up to a timeout.
public final class RawClient {
    public private(set) var fd: Int32

    public init(socketPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends what the socket takes now, without blocking; returns the bytes sent (0 when it is full).
    @discardableResult
    public func sendSome(_ bytes: [UInt8]) -> Int {
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        return max(0, sent)
    }

    /// Sends all of `bytes`, waiting while the socket is full, for up to `timeout` seconds; returns the
    /// bytes sent.
    @discardableResult
    public func sendAll(_ bytes: [UInt8], timeout: Double = 10) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var done = 0
        while done < bytes.count && Date() < deadline {
            let sent = Array(bytes[done...]).withUnsafeBytes {
                send(fd, $0.baseAddress!, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if sent > 0 { done += sent } else { usleep(1_000) }
        }
        return done
    }

    /// Reads until `count` bytes arrived, the peer closed, or `timeout` seconds passed.
    public func read(atLeast count: Int, timeout: Double = 5) -> [UInt8] {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received.count < count {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { break }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32(left * 1000) + 1) == 1 else { continue }
            let got = recv(fd, &buffer, buffer.count, 0)
            if got <= 0 { break }
            received += buffer[0..<got]
        }
        return received
    }

    /// Whether the peer closed the connection (a read returns end of file) within `timeout` seconds.
    public func closedByPeer(timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while deadline.timeIntervalSinceNow > 0 {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) == 1 else { continue }
            let got = recv(fd, &buffer, buffer.count, 0)
            if got == 0 { return true }
            if got < 0 { return errno == ECONNRESET }
        }
        return false
    }
}
