import Foundation
import Glibc
import HeapProtocol
import Synchronization

/// A one-connection Unix socket server on a background thread, driven by a per-test script, so that
/// `HeapConnection` can be tested against real sockets without depending on heapd itself.
final class ScriptedServer: Sendable {
    /// Socket path, short and unique so it fits `sun_path` and parallel tests do not collide.
    let path: String
    /// Requests the script read, for the test to inspect once the server has stopped.
    let received = Mutex<[Request]>([])
    private let listener: Int32
    private let finished = DispatchSemaphore(value: 0)
    private let stopped = Mutex(false)

    /// Binds and listens immediately (so the client can connect right away), then serves one connection
    /// with `script` on a new thread.
    init(script: @escaping @Sendable (ScriptedPeer) -> Void) {
        path = "/tmp/hc-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        precondition(listener >= 0, "socket failed")
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        precondition(bound == 0 && listen(listener, 1) == 0, "bind/listen failed")
        Thread.detachNewThread { [self] in
            let client = accept(listener, nil, nil)
            if client >= 0 {
                // Never let a script wait forever on a client that went quiet.
                var limit = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                script(ScriptedPeer(descriptor: client, server: self))
                Glibc.close(client)
            }
            finished.signal()
        }
    }

    /// Stops accepting, waits for the script to finish, and removes the socket file. Idempotent, so a test
    /// may stop early to inspect `received` and still keep its `defer { server.stop() }`.
    func stop() {
        let alreadyStopped = stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        if alreadyStopped {
            return
        }
        // shutdown wakes a thread blocked in accept, in case the client never connected.
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        _ = finished.wait(timeout: .now() + 10)
        unlink(path)
    }
}

/// The server's side of the one connection, used from the server thread only.
final class ScriptedPeer {
    private let descriptor: Int32
    private let server: ScriptedServer
    private var decoder = RequestDecoder()
    private var buffer: [UInt8] = []

    init(descriptor: Int32, server: ScriptedServer) {
        self.descriptor = descriptor
        self.server = server
    }

    /// Reads until one request is decoded and records it; nil on EOF, timeout or a protocol error.
    @discardableResult
    func readRequest() -> Request? {
        while true {
            let step = buffer.withUnsafeBytes { decoder.decode($0) }
            switch step {
            case .request(let request, let consumed):
                buffer.removeFirst(consumed)
                server.received.withLock { $0.append(request) }
                return request
            case .failure:
                return nil
            case .needMoreData(let consumed):
                buffer.removeFirst(consumed)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            guard count > 0 else {
                return nil
            }
            buffer += chunk[..<count]
        }
    }

    /// Writes `chunks` as separate writes with a pause between them, so the client sees partial replies.
    func write(_ chunks: [[UInt8]]) {
        for (index, chunk) in chunks.enumerated() {
            if index > 0 {
                usleep(2000)
            }
            var offset = 0
            while offset < chunk.count {
                let sent = chunk[offset...].withUnsafeBytes {
                    send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard sent > 0 else {
                    return
                }
                offset += sent
            }
        }
    }

    /// Writes `text` split into the given pieces.
    func write(_ pieces: String...) {
        write(pieces.map { Array($0.utf8) })
    }

    /// Blocks until the client closes its end (or the 5 s safety timeout passes).
    func waitForClose() {
        var byte: UInt8 = 0
        while recv(descriptor, &byte, 1, 0) > 0 {}
    }
}

extension Array where Element == UInt8 {
    /// Splits the bytes into pieces of at most `size` bytes.
    func chunked(by size: Int) -> [[UInt8]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
