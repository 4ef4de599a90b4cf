import Foundation
import HeapCore
import HeapProtocol

/// Everything heapd can be told at start; every limit has a documented default (see protocol.md).
public struct ServerConfiguration: Sendable {
    /// Where to listen: a path heapd binds itself, or a listening descriptor systemd passed.
    public var listenAddress: ListenAddress
    /// Event-loop threads serving connections.
    public var workerThreads: Int
    /// Most clients connected at once; one more is answered `-LIMIT` and closed.
    public var maxClients: Int
    /// Framing limits: line length, arguments per command, bulk length.
    public var protocolLimits: ProtocolLimits
    /// Sizing of the heap.
    public var heap: HeapConfiguration
    /// Deepest `SCOPE PUSH` nesting per session.
    public var maxScopeDepth: Int
    /// Accept test-only commands (`GC DEBUG_STALL`); off in normal operation.
    public var testCommands: Bool
    /// Where `TRACEMALLOC DUMP` writes and `LOAD` reads, and `SAVE` writes heap images
    /// (``SnapshotDirectory``).
    public var snapshotDirectory: String
    /// A heap image to load before serving (`heapd --image`); nil starts with an empty heap.
    public var imagePath: String? = nil
    /// `heapd --resume`: load the snapshot directory's `heap.image` at start if it exists (when no
    /// ``imagePath`` is given), and save it there at a graceful stop.
    public var resume = false
    /// `heapd --save-every`: seconds between background saves of `heap.image` (0: none).
    public var saveEverySeconds = 0
    /// Mode and group of the socket file heapd binds (not of a socket systemd passes).
    public var socketPermissions: SocketPermissions
    /// Which role each client gets (replaced at run time by ``HeapServer/setAccessPolicy(_:)``).
    public var accessPolicy: AccessPolicy
    /// What one client's output and partial input may cost, and how long a command may run.
    public var connectionLimits: ConnectionLimits

    public init(
        listenAddress: ListenAddress,
        workerThreads: Int = 2,
        maxClients: Int = 10_000,
        protocolLimits: ProtocolLimits = .default,
        heap: HeapConfiguration = HeapConfiguration(),
        maxScopeDepth: Int = 1_000,
        testCommands: Bool = false,
        snapshotDirectory: String = "/var/lib/heapd",
        socketPermissions: SocketPermissions = SocketPermissions(),
        accessPolicy: AccessPolicy = AccessPolicy(ownUID: geteuid()),
        connectionLimits: ConnectionLimits = .default
    ) {
        self.socketPermissions = socketPermissions
        self.accessPolicy = accessPolicy
        self.connectionLimits = connectionLimits
        self.testCommands = testCommands
        self.snapshotDirectory = snapshotDirectory
        self.listenAddress = listenAddress
        self.workerThreads = max(1, workerThreads)
        self.maxClients = max(1, maxClients)
        self.protocolLimits = protocolLimits
        self.heap = heap
        self.maxScopeDepth = max(1, maxScopeDepth)
    }
}

/// Where heapd listens.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    enum Storage: Equatable {
        case path(String)
        case descriptor(Int32, name: String)
    }
    let storage: Storage

    /// A Unix socket path heapd creates (replacing a stale file) and removes at exit.
    public static func unixDomainSocket(path: String) -> Self { Self(storage: .path(path)) }
    /// A listening socket inherited from systemd; heapd never unlinks it.
    public static func inheritedDescriptor(_ fd: Int32, name: String) -> Self {
        Self(storage: .descriptor(fd, name: name))
    }

    public var path: String? {
        if case .path(let path) = storage { return path }
        return nil
    }

    public var description: String {
        switch storage {
        case .path(let path): path
        case .descriptor(let fd, let name): "fd \(fd) (\(name))"
        }
    }
}
