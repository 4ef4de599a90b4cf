import HeapServer

/// The log entries heapd's systemd integration adds to the server's (``ServerLogEvent``), under the
/// same `event` metadata key. Stable names: add cases, never rename one.
public enum ServiceLogEvent: String, CaseIterable, Sendable {
    case watchdogUnhealthy = "watchdog_unhealthy"
    case watchdogHealthy = "watchdog_healthy"
    case configurationReloaded = "configuration_reloaded"
    case startFailed = "start_failed"
    case logEntriesDropped = "log_entries_dropped"
}
