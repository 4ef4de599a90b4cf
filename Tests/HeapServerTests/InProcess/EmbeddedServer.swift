import Foundation
import HeapCore
import HeapProtocol
import Logging
import NIOCore
import NIOEmbedded
import XCTest

@testable import HeapServer

/// The in-process tier of the test kit: the real ``ConnectionHandler`` over a real ``ServerState``,
/// driven through an `EmbeddedChannel`, with no socket, no process and no event-loop thread.
///
/// It touches only the handler's construction and the channel's I/O (bytes in, bytes out), so it keeps
/// working however the handler is built inside. Every client is a channel of its own on one shared
/// state; ``finish()`` closes them, checks the heap with `DEBUG VERIFY` from a fresh client and releases
/// the globals.
final class EmbeddedServer {
    let state: ServerState
    private var channels: [EmbeddedChannel] = []

    /// A server with `configuration`; every client is an admin (the embedded channel has no peer
    /// credentials to judge), so the tests can reach every command, `DEBUG VERIFY` included.
    init(configuration: ServerConfiguration = EmbeddedServer.configuration()) {
        state = ServerState(
            configuration: configuration, logger: Logger(label: "heapd-embedded") { _ in SwiftLogNoOpLogHandler() })
    }

    static func configuration(testCommands: Bool = false) -> ServerConfiguration {
        ServerConfiguration(
            listenAddress: .unixDomainSocket(path: "/nonexistent/heapd-embedded.sock"),
            heap: HeapConfiguration(maxObjects: 1 << 16, shardCount: 2), testCommands: testCommands,
            snapshotDirectory: "/nonexistent", accessPolicy: AccessPolicy(ownUID: geteuid(), defaultRole: .admin))
    }

    /// A new client: a channel with the handler, connected (the handler opens its session).
    func connect() throws -> EmbeddedClient {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(state: state))
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/nonexistent/client.sock")).wait()
        channels.append(channel)
        return EmbeddedClient(channel: channel)
    }

    /// Closes every client, fails the test unless `DEBUG VERIFY` finds the heap consistent, and releases
    /// the globals.
    func finish(file: StaticString = #filePath, line: UInt = #line) throws {
        for channel in channels where channel.isActive {
            _ = try? channel.finish()
        }
        channels.removeAll()
        let checker = try connect()
        let verdict = try checker.call("DEBUG", "VERIFY")
        guard case .simple(let text) = verdict, text.hasPrefix("OK") else {
            return XCTFail("heap inconsistent: \(verdict)", file: file, line: line)
        }
        _ = try? checker.channel.finish()
        channels.removeAll()
        state.releaseGlobals()
    }
}

/// One client of an ``EmbeddedServer``: writes request bytes into its channel and decodes the reply
/// bytes the handler wrote back.
final class EmbeddedClient {
    let channel: EmbeddedChannel
    private var decoder = ReplyDecoder()
    private var received: [UInt8] = []

    init(channel: EmbeddedChannel) {
        self.channel = channel
    }

    /// Sends `bytes` as one read (the handler sees them as one burst, however many requests they hold).
    func send(_ bytes: [UInt8]) throws {
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    }

    /// Sends `text` as one read.
    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// The replies the handler has written so far and not yet returned.
    func replies() throws -> [Reply] {
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            received += buffer.readableBytesView
        }
        var replies: [Reply] = []
        while true {
            let decoded = try received.withUnsafeBytes { bytes in
                try Result { () throws(ProtocolError) in try decoder.decode(bytes) }.get()
            }
            guard let (reply, consumed) = decoded else { break }
            replies.append(reply)
            received.removeFirst(consumed)
        }
        return replies
    }

    /// Sends one request as RESP multibulk and returns its one reply.
    func call(_ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws -> Reply {
        try send(Request(arguments).encoded)
        let replies = try replies()
        guard replies.count == 1 else {
            XCTFail("expected one reply to \(arguments), got \(replies)", file: file, line: line)
            throw EmbeddedClientError.unexpectedReplies(replies)
        }
        return replies[0]
    }

    enum EmbeddedClientError: Error {
        case unexpectedReplies([Reply])
    }
}
