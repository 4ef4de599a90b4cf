import CoreMetrics
import HeapCore
import HeapProtocol
import Prometheus

/// `METRICS`: heapd's figures in Prometheus's text exposition format, every name prefixed `heapd_`.
///
/// Two kinds of figure, kept two ways:
/// - **Events** — each collection's pause — are recorded as they happen, through swift-metrics' `Timer`
///   API backed by swift-prometheus (``PrometheusMetricsFactory`` over this server's own registry, not
///   the process-wide bootstrap: two servers in one test process keep apart). A histogram needs every
///   value; `PauseStatistics` keeps only a window.
/// - **States and totals** the server already counts (objects, bytes, clients, commands, collections,
///   errors, traced memory) are read when scraped: gauges are set, and counters are advanced by what
///   their source counted since the last scrape, so they stay monotonic as Prometheus requires
///   without a second count on the hot path.
///
/// The registry renders the text (`emit(into:)`); nothing here formats the exposition format by hand.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let pauses: [CoreMetrics.Timer]
    /// Error replies sent, by code (`-NOVAR` …); not a hot path.
    private let errorReplies = LockedValue<[String: Int]>([:])
    /// What each synced counter was last advanced to, by name and labels.
    private let synced = LockedValue<[String: Int64]>([:])

    /// The pause histogram's upper bounds: 50 µs to 1 s.
    static let pauseBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
    ]

    init(generations: Int) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["heapd_gc_pause_seconds"] = Self.pauseBuckets
        pauses = (0..<generations).map {
            CoreMetrics.Timer(label: "heapd_gc_pause_seconds", dimensions: [("generation", "\($0)")], factory: factory)
        }
    }

    /// A collection finished (called on the collector thread): its last stop and, for a full
    /// collection that marked in steps, each step's stop (as `INFO`'s pause figures count them).
    func record(_ collection: CollectionInfo) {
        guard pauses.indices.contains(collection.generation) else { return }
        for step in collection.markStepPauses {
            pauses[collection.generation].recordNanoseconds(Int64(clamping: step))
        }
        pauses[collection.generation].recordNanoseconds(Int64(clamping: collection.pauseNanoseconds))
    }

    /// An error reply went to a client.
    func countError(_ code: ErrorCode) {
        errorReplies.withLock { $0[code.rawValue, default: 0] += 1 }
    }

    /// The exposition text, after reading the server's current figures into the registry.
    func render(_ state: ServerState) -> [UInt8] {
        update(from: state)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func update(from state: ServerState) {
        let heap = state.heap
        let stats = heap.statistics()
        for kind in ObjectKind.allCases where kind != .none && kind != .bool {
            let labels = [("type", "\(kind)")]
            registry.makeGauge(descriptor: Self.name("heapd_objects", "Live objects by type"), labels: labels)
                .set(Double(stats.objectsByKind[kind, default: 0]))
            registry.makeGauge(
                descriptor: Self.name("heapd_object_bytes", "Bytes of live objects by type"), labels: labels
            ).set(Double(stats.bytesByKind[kind, default: 0]))
        }
        gauge("heapd_used_bytes", "Bytes the objects cost, with their handle-table entries", stats.bytesInUse)
        gauge("heapd_resident_bytes", "Resident set size of heapd", InfoReport.residentBytes())
        let budget = heap.memoryBudget
        gauge("heapd_heap_mapped_bytes", "Arenas and large payloads held from the OS", budget.used)
        gauge("heapd_max_memory_bytes", "The memory cap (0: none)", budget.cap)
        for generation in 0..<3 {
            registry.makeGauge(
                descriptor: Self.name("heapd_gc_tracked_objects", "Containers tracked by the collector, by generation"),
                labels: [("generation", "\(generation)")]
            ).set(Double(stats.generationLengths[generation]))
        }
        let collector = heap.collector
        for (generation, figures) in collector.statistics.enumerated() {
            let labels = [("generation", "\(generation)")]
            sync("heapd_gc_collections_total", labels, "Collections completed", figures.collections)
            sync("heapd_gc_collected_objects_total", labels, "Unreachable objects freed", figures.collected)
            sync("heapd_gc_uncollectable_objects_total", labels, "Unreachable objects kept", figures.uncollectable)
        }
        gauge("heapd_gc_garbage_objects", "Objects in gc.garbage", collector.garbageCount)
        gauge("heapd_clients", "Clients connected", state.connectedClients.load(ordering: .relaxed))
        sync("heapd_connections_total", [], "Connections accepted", state.totalConnections.load(ordering: .relaxed))
        sync("heapd_commands_processed_total", [], "Commands run", state.totalCommands.load(ordering: .relaxed))
        let errors = errorReplies.withLock { $0 }
        for code in ErrorCode.all {
            sync("heapd_errors_total", [("code", code.rawValue)], "Error replies by code", errors[code.rawValue] ?? 0)
        }
        let tracer = heap.tracer
        let (current, peak) = tracer.tracedMemory()
        gauge("heapd_tracemalloc_tracing", "1 while tracemalloc traces", tracer.isTracing ? 1 : 0)
        gauge("heapd_tracemalloc_traced_bytes", "tracemalloc's traced memory now", current)
        gauge("heapd_tracemalloc_peak_bytes", "tracemalloc's traced memory at its peak", peak)
    }

    private func gauge(_ name: String, _ help: String, _ value: Int) {
        registry.makeGauge(descriptor: Self.name(name, help)).set(Double(value))
    }

    /// Advances a counter to `total`, a figure the server counts itself.
    private func sync(_ name: String, _ labels: [(String, String)], _ help: String, _ total: Int) {
        let key = name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
        synced.withLock { last in
            let counter =
                labels.isEmpty
                ? registry.makeCounter(descriptor: Self.name(name, help))
                : registry.makeCounter(descriptor: Self.name(name, help), labels: labels)
            let delta = Int64(total) - last[key, default: 0]
            if delta > 0 {
                counter.increment(by: delta)
                last[key] = Int64(total)
            }
        }
    }

    /// A whole metric name with its help text (the registry's descriptor joins the parts we do not split).
    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
