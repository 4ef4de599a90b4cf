import Glibc
import HeapProtocol

/// A blocking connection to heapd over its Unix socket, for `heapctl` and integration tests.
///
/// Deliberately synchronous and not `Sendable`: each command-line invocation or test owns one connection
/// on one thread, and a blocking API keeps that code linear. Any transport or protocol failure closes the
/// connection, because after a timeout or a partial write the request/reply pairing can no longer be
/// trusted (a late reply would otherwise be taken as the answer to the next command); later calls then
/// throw `.notConnected`. Error *replies* from the server are ordinary `Reply.error` values and leave the
/// connection usable.
public final class HeapConnection {
    /// The path this connection was opened on, for messages.
    public let socketPath: String

    private var descriptor: Int32?
    /// Received bytes; those before `readStart` are already decoded.
    private var readBuffer: [UInt8] = []
    private var readStart = 0
    private var decoder = ReplyDecoder()
    /// Scratch space for one `recv`, reused to avoid an allocation per read.
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    /// Connects to the heapd socket at `socketPath`.
    ///
    /// - Parameter timeout: Seconds any single send or receive may block before `.timeout`; `<= 0` means
    ///   wait forever.
    public init(socketPath: String, timeout: Double = 30) throws(ClientError) {
        self.socketPath = socketPath
        self.descriptor = try UnixSocket.connect(path: socketPath, timeout: timeout)
    }

    deinit {
        close()
    }

    /// Whether the connection is still open.
    public var isOpen: Bool {
        descriptor != nil
    }

    /// Sends one command without waiting for its reply.
    public func send(_ args: [String]) throws(ClientError) {
        try send(Request(args))
    }

    /// Sends one command with binary arguments without waiting for its reply.
    public func send(_ request: Request) throws(ClientError) {
        try sendRaw(request.encoded)
    }

    /// Sends bytes exactly as given, e.g. inline commands or deliberately malformed input in tests.
    public func sendRaw(_ bytes: [UInt8]) throws(ClientError) {
        let descriptor = try openDescriptor()
        do {
            try UnixSocket.sendAll(descriptor, bytes)
        } catch {
            close()
            throw error
        }
    }

    /// Blocks until one complete reply has arrived and returns it.
    public func readReply() throws(ClientError) -> Reply {
        let descriptor = try openDescriptor()
        do {
            while true {
                if let reply = try decodeBuffered() {
                    return reply
                }
                try receive(from: descriptor)
            }
        } catch {
            close()
            throw error
        }
    }

    /// Sends one command and waits for its reply.
    @discardableResult
    public func call(_ args: String...) throws(ClientError) -> Reply {
        try call(args)
    }

    /// Sends one command and waits for its reply.
    @discardableResult
    public func call(_ args: [String]) throws(ClientError) -> Reply {
        try send(args)
        return try readReply()
    }

    /// Sends one binary-safe command and waits for its reply.
    @discardableResult
    public func call(_ request: Request) throws(ClientError) -> Reply {
        try send(request)
        return try readReply()
    }

    /// Sends all `requests` in one write, then reads one reply per request, in order.
    ///
    /// Pipelining saves a round trip per command, which dominates the cost of small commands.
    public func pipeline(_ requests: [[String]]) throws(ClientError) -> [Reply] {
        var bytes: [UInt8] = []
        for request in requests {
            Request(request).encode(into: &bytes)
        }
        try sendRaw(bytes)
        var replies: [Reply] = []
        replies.reserveCapacity(requests.count)
        for _ in requests {
            replies.append(try readReply())
        }
        return replies
    }

    /// Closes the connection; calling it again does nothing.
    public func close() {
        if let descriptor {
            _ = Glibc.close(descriptor)
            self.descriptor = nil
        }
        readBuffer = []
        readStart = 0
        decoder.reset()
    }

    private func openDescriptor() throws(ClientError) -> Int32 {
        guard let descriptor else {
            throw .notConnected
        }
        return descriptor
    }

    /// Decodes one reply from the buffered bytes, or returns `nil` if they do not hold a complete one yet.
    private func decodeBuffered() throws(ClientError) -> Reply? {
        let start = readStart
        // `withUnsafeBytes` only rethrows untyped errors, so the typed error travels out in a `Result`.
        let result = readBuffer.withUnsafeBytes { bytes in
            Result { () throws(ProtocolError) in try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[start...])) }
        }
        let decoded: (Reply, consumed: Int)?
        do {
            decoded = try result.get()
        } catch {
            throw .protocolError(error)
        }
        guard let (reply, consumed) = decoded else {
            return nil
        }
        readStart += consumed
        return reply
    }

    /// Appends the next `recv` to the buffer, first dropping decoded bytes when that is cheap or worthwhile.
    private func receive(from descriptor: Int32) throws(ClientError) {
        if readStart == readBuffer.count {
            readBuffer.removeAll(keepingCapacity: true)
            readStart = 0
        } else if readStart > chunk.count && readStart > readBuffer.count / 2 {
            // Unconsumed bytes keep their order, so the decoder's resume offset stays valid.
            readBuffer.removeSubrange(..<readStart)
            readStart = 0
        }
        let count = try chunk.withUnsafeMutableBytes { buffer in
            Result { () throws(ClientError) in try UnixSocket.receive(descriptor, into: buffer) }
        }.get()
        readBuffer.append(contentsOf: chunk[..<count])
    }
}
