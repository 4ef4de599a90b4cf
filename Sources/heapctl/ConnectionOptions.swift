import ArgumentParser

/// `--socket` and `--timeout`, accepted both before the command and after `run`.
///
/// Both are optional rather than defaulted so that `heapctl --socket A run FILE --socket B` can tell an
/// explicit value from an absent one; the defaults are applied once, by `Endpoint`.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "heapd's Unix socket (default: $HEAPD_SOCKET, else heapd's own default, "
                + "$XDG_RUNTIME_DIR/heapd.sock or /tmp/heapd-UID.sock, else the system socket "
                + "/run/heapd/heapd.sock: the first that exists).",
            valueName: "path"))
    var socket: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds to wait for each reply before giving up (default 0: forever).", valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let timeout, !(timeout >= 0) {
            throw ValidationError("--timeout must be a number of seconds, 0 or more")
        }
    }

    /// These options, with any option `later` gives taking precedence.
    func overridden(by later: ConnectionOptions) -> Endpoint {
        Endpoint(socket: later.socket ?? socket, timeout: later.timeout ?? timeout)
    }

    /// The endpoint these options name.
    var endpoint: Endpoint {
        Endpoint(socket: socket, timeout: timeout)
    }
}
