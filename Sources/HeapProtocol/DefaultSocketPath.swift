/// Where heapd listens and heapctl connects when no `--socket` is given.
///
/// `$HEAPD_SOCKET` if set; else `$XDG_RUNTIME_DIR/heapd.sock` (the per-user runtime directory systemd
/// provides); else `/run/heapd/heapd.sock` for root (the path the shipped socket unit uses); else
/// `/tmp/heapd-UID.sock`.
public enum DefaultSocketPath {
    public static func resolve(environment: [String: String], uid: UInt32) -> String {
        if let explicit = environment["HEAPD_SOCKET"], !explicit.isEmpty { return explicit }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/heapd.sock" }
        if uid == 0 { return "/run/heapd/heapd.sock" }
        return "/tmp/heapd-\(uid).sock"
    }
}
