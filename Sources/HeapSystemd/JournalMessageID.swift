import HeapServer

/// The fixed 128-bit `MESSAGE_ID` of each kind of heapd log entry, so `journalctl MESSAGE_ID=…` finds
/// every entry of a kind and `journalctl -x` shows its catalog text.
///
/// Each id was made once with `systemd-id128 new` and never changes. `systemd/heapd.catalog` explains
/// each one; a test checks the two lists agree.
public enum JournalMessageID {
    /// Event name (the `event` metadata value) → MESSAGE_ID (32 lower-case hex digits).
    public static let byEvent: [String: String] = [
        ServerLogEvent.daemonStarted.rawValue: "8e714002ad2d41b2b6b9effe5ba4856e",
        ServerLogEvent.daemonStopped.rawValue: "5e3d96006ce048978405086dfdd31aa0",
        ServerLogEvent.clientConnected.rawValue: "9fc542489e9d4547b5f774a9fcba5fe7",
        ServerLogEvent.clientGone.rawValue: "f1147e4371a7449ba0dd9f75e41df923",
        ServerLogEvent.collectionFinished.rawValue: "f606a143aa0749e3a2cc84820f957dd8",
        ServerLogEvent.limitHit.rawValue: "04d1948798e04cbbb5dfddc898f75911",
        ServerLogEvent.commandDenied.rawValue: "a53739ed4d844e2197addae43258bf9d",
        ServerLogEvent.requestsRejected.rawValue: "3c8c221392154383a65cad23775385d8",
        ServiceLogEvent.watchdogUnhealthy.rawValue: "dc1f2a43c75f4e2f9f4dc7201fb7792b",
        ServiceLogEvent.watchdogHealthy.rawValue: "ae1288ea171348cbb2537152b356a4cf",
        ServiceLogEvent.configurationReloaded.rawValue: "c17c6ffe1cf146c2adbe528a35c425d0",
        ServiceLogEvent.startFailed.rawValue: "8e083127a91f43aa81cdf3d4f055e409",
        ServiceLogEvent.logEntriesDropped.rawValue: "a5be145563e842c2a9e4879fe43a3980",
    ]
}
