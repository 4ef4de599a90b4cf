import Foundation
import Glibc

/// A real `NOTIFY_SOCKET`: an `AF_UNIX` datagram socket the test binds (as systemd does), with
/// `SO_PASSCRED` so each datagram carries its sender's pid. Closed and unlinked by ``close()``.
final class NotifyListener {
    /// One datagram as systemd would see it.
    struct Datagram {
        let text: String
        let senderPID: Int32?
        /// Monotonic arrival time, seconds.
        let arrival: Double

        /// The value of `variable` in the datagram.
        subscript(variable: String) -> String? {
            for line in text.split(separator: "\n") where line.hasPrefix(variable + "=") {
                return String(line.dropFirst(variable.count + 1))
            }
            return nil
        }
    }

    /// `SCM_CREDENTIALS` (Glibc exposes it only under _GNU_SOURCE).
    static let scmCredentials: Int32 = 2

    let path: String
    private var descriptor: Int32
    /// Every datagram received so far, in order.
    private(set) var received: [Datagram] = []

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let error = errno
            Glibc.close(descriptor)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    func close() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
        unlink(path)
    }

    /// The next datagram, waiting up to `timeout` seconds; nil on timeout.
    func next(timeout: Double) -> Datagram? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(max(0, timeout) * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        // cmsghdr (16 bytes on 64-bit Linux) followed by struct ucred (12 bytes, padded to 16).
        var control = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { data -> Int in
            control.withUnsafeMutableBytes { controlBytes -> Int in
                var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let count = recvmsg(descriptor, &message, 0)
                    return count
                }
            }
        }
        guard count >= 0 else { return nil }
        let level = control.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Int32.self) }
        let type = control.withUnsafeBytes { $0.load(fromByteOffset: 12, as: Int32.self) }
        let pid =
            level == SOL_SOCKET && type == Self.scmCredentials
            ? control.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) } : nil
        let datagram = Datagram(
            text: String(decoding: buffer[0..<count], as: UTF8.self), senderPID: pid, arrival: Self.now())
        received.append(datagram)
        return datagram
    }

    /// Reads datagrams until one satisfies `predicate` (returned) or `timeout` seconds pass (nil).
    func waitFor(timeout: Double, _ predicate: (Datagram) -> Bool) -> Datagram? {
        let deadline = Self.now() + timeout
        while Self.now() < deadline {
            guard let datagram = next(timeout: deadline - Self.now()) else { continue }
            if predicate(datagram) { return datagram }
        }
        return nil
    }

    /// Every datagram arriving in the next `seconds`.
    func collect(for seconds: Double) -> [Datagram] {
        let deadline = Self.now() + seconds
        var result: [Datagram] = []
        while Self.now() < deadline {
            if let datagram = next(timeout: deadline - Self.now()) { result.append(datagram) }
        }
        return result
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
