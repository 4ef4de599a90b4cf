import CSystemd
import Glibc

/// A listening socket systemd passed (socket activation): its descriptor and `FileDescriptorName=`.
public struct ListenDescriptor: Sendable, Equatable {
    public let descriptor: Int32
    public let name: String

    public init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }
}

/// Why the passed sockets cannot be served; carries an errno for systemd's `ERRNO=`.
public struct SocketActivationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public let errnoValue: Int32
}

/// Socket activation: which passed socket heapd serves.
///
/// heapd serves exactly one listening `AF_UNIX` stream socket. systemd passes them from descriptor 3
/// (`SD_LISTEN_FDS_START`) with `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES`; heapd adopts the one
/// socket and never unlinks or shuts it down (systemd owns it and keeps listening across restarts).
/// Several sockets (a second `ListenStream=` in heapd.socket, or more socket units) have no role in
/// heapd — there is no read-only or monitoring listener — so they are refused with an error that
/// names them, instead of serving one and silently ignoring the rest.
public enum ListenDescriptors {
    /// The sockets systemd passed, read with `sd_listen_fds_with_names(3)`, which also unsets the
    /// `LISTEN_*` variables (nothing heapd starts inherits them). Empty when heapd was not activated.
    public static func fromSystemd() -> Result<[ListenDescriptor], SocketActivationError> {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count >= 0 else {
            return .failure(
                SocketActivationError(
                    description:
                        "invalid socket activation environment (LISTEN_FDS/LISTEN_PID): \(String(cString: strerror(-count)))",
                    errnoValue: -count))
        }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        var passed: [ListenDescriptor] = []
        for index in 0..<Int(count) {
            let name = names?[index].map { String(cString: $0) } ?? "unknown"
            passed.append(ListenDescriptor(descriptor: SD_LISTEN_FDS_START + Int32(index), name: name))
        }
        return .success(passed)
    }

    /// Whether `descriptor` is a listening `AF_UNIX` stream socket (`sd_is_socket_unix(3)`).
    public static func isListeningUnixStream(_ descriptor: Int32) -> Bool {
        sd_is_socket_unix(descriptor, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0
    }

    /// The one socket to serve, nil when none was passed (heapd then binds its own path).
    ///
    /// - Parameters:
    ///   - passed: what systemd passed.
    ///   - socketOption: the `--socket` path, if given: a path and a passed socket are contradictory.
    ///   - isListeningUnixStream: the descriptor check (injected so the choice tests without sockets).
    public static func select(
        _ passed: [ListenDescriptor], socketOption: String?,
        isListeningUnixStream: (Int32) -> Bool = isListeningUnixStream
    ) throws(SocketActivationError) -> ListenDescriptor? {
        guard let first = passed.first else { return nil }
        if let socketOption {
            throw SocketActivationError(
                description:
                    "--socket \(socketOption) was given but systemd passed a socket (\(describe(passed))); use one or the other",
                errnoValue: EINVAL)
        }
        guard passed.count == 1 else {
            throw SocketActivationError(
                description:
                    "systemd passed \(passed.count) sockets (\(describe(passed))) but heapd serves exactly one: "
                    + "several listeners (e.g. a read-only or monitoring socket) are not supported; "
                    + "keep a single ListenStream= in heapd.socket",
                errnoValue: EINVAL)
        }
        guard isListeningUnixStream(first.descriptor) else {
            throw SocketActivationError(
                description:
                    "the socket systemd passed (\(describe(passed))) is not a listening AF_UNIX stream socket; heapd.socket needs ListenStream=/path",
                errnoValue: ENOTSOCK)
        }
        return first
    }

    private static func describe(_ passed: [ListenDescriptor]) -> String {
        passed.map { "fd \($0.descriptor) \"\($0.name)\"" }.joined(separator: ", ")
    }
}
