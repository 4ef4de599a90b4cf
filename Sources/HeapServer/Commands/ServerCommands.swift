import Foundation
import HeapCore
import HeapProtocol

/// Connection and server commands: `PING`, `ECHO`, `QUIT`, `HELP`, `INFO`, `DEBUG VERIFY`.
enum ServerCommands {
    static let version = "0.1.0"

    static let specs: [CommandSpec] = [
        CommandSpec(
            "PING", arity: 0...1, syntax: "PING [message]", summary: "replies PONG, or the message",
            flags: .allowedWhileSubscribed,
            handler: { session, args throws(CommandError) in
                guard args.count == 1 else { return .simple("PONG") }
                try checkEchoSize(args.raw[0], session)
                return .bulk(args.raw[0])
            }),
        CommandSpec(
            "ECHO", arity: 1...1, syntax: "ECHO message", summary: "replies the message",
            handler: { session, args throws(CommandError) in
                try checkEchoSize(args.raw[0], session)
                return .bulk(args.raw[0])
            }),
        CommandSpec(
            "QUIT", arity: 0...0, syntax: "QUIT",
            summary: "replies OK and closes the connection (its variables are released)",
            flags: [.closesConnection, .allowedWhileSubscribed],
            handler: { _, _ throws(CommandError) in .ok }),
        CommandSpec(
            "HELP", arity: 0...2, syntax: "HELP [command]", summary: "lists the commands, or shows one",
            handler: { _, args throws(CommandError) in
                if args.count > 0 {
                    let name = args.strings.joined(separator: " ").uppercased()
                    if let spec = CommandTable.spec(named: name) {
                        return .array([.bulk(spec.syntax), .bulk(spec.summary)])
                    }
                    // A group's first word (`HELP GC`): every command of the group.
                    let group = CommandTable.all.filter { $0.name.hasPrefix(name + " ") }
                    guard !group.isEmpty else { throw .unknown(name) }
                    return .array(group.map { .bulk("\($0.syntax)  --  \($0.summary)") })
                }
                return .array(CommandTable.all.map { .bulk("\($0.syntax)  --  \($0.summary)") })
            }),
        CommandSpec(
            "INFO", arity: 0...1, syntax: "INFO [section]",
            summary:
                "server state as 'key:value' lines in sections server, clients, memory, objects, gc, tracemalloc, persistence, limits",
            handler: { session, args throws(CommandError) in
                let section = args.count == 1 ? args[0].lowercased() : "all"
                let sections = ["server", "clients", "memory", "objects", "gc", "tracemalloc", "persistence", "limits"]
                guard section == "all" || section == "everything" || sections.contains(section) else {
                    throw .syntax("unknown INFO section '\(args[0])' (\(sections.joined(separator: ", ")))")
                }
                let text = InfoReport(state: session.state).render(
                    sections: section == "all" || section == "everything" ? sections : [section])
                return .bulk(text)
            }),
        CommandSpec(
            "METRICS", arity: 0...0, syntax: "METRICS",
            summary:
                "heapd's figures in Prometheus's text exposition format (heapd_*): objects and bytes per type, collections, pauses, clients, commands, errors, traced memory",
            handler: { session, _ throws(CommandError) in
                .bulk(session.state.metrics.render(session.state))
            }),
        CommandSpec(
            "DEBUG VERIFY", arity: 0...0, syntax: "DEBUG VERIFY",
            summary: "stops the world and checks every refcount, reference and counter; replies OK or the problems",
            flags: .stopsTheWorld,
            outcome: { session, _ throws(CommandError) in
                // The command runs inside the gate (shared); the check needs it exclusively, so the
                // connection runs it after the batch left the gate, off its event loop.
                let state = session.state
                return .afterGate {
                    let (problems, objects) = state.heap.withWorldStopped { stopped in
                        (
                            stopped.verify(externalReferences: state.externalReferences(stopped)),
                            state.heap.statistics().objects
                        )
                    }
                    if problems.isEmpty { return .simple("OK heap consistent: \(objects) objects checked") }
                    return .array(problems.map { .bulk($0) })
                }
            }),
    ]
}

/// `-LIMIT` for a message too big to send back (a request may be bigger than a reply may).
private func checkEchoSize(_ message: [UInt8], _ session: Session) throws(CommandError) {
    guard message.count + 24 <= session.maxReply else {
        throw .limit("a reply of \(message.count) bytes would exceed max-reply (\(session.maxReply) bytes)")
    }
}

/// Renders `INFO` the way Redis does: `# Section` headers and `key:value` lines.
struct InfoReport {
    let state: ServerState

    func render(sections: [String]) -> String {
        var lines: [String] = []
        for section in sections {
            if !lines.isEmpty { lines.append("") }
            switch section {
            case "server": lines += server()
            case "clients": lines += clients()
            case "memory": lines += memory()
            case "gc": lines += gc()
            case "tracemalloc": lines += tracemalloc()
            case "limits": lines += limits()
            case "persistence": lines += state.images.infoLines()
            default: lines += objects()
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    private func tracemalloc() -> [String] {
        let tracer = state.heap.tracer
        let (current, peak) = tracer.tracedMemory()
        return [
            "# Tracemalloc",
            "tracemalloc_tracing:\(tracer.isTracing ? 1 : 0)",
            "tracemalloc_traceback_limit:\(tracer.tracebackLimit)",
            "tracemalloc_current_bytes:\(current)",
            "tracemalloc_peak_bytes:\(peak)",
            "tracemalloc_snapshots:\(state.snapshots.count)",
            "tracemalloc_snapshot_dir:\(state.configuration.snapshotDirectory)",
        ]
    }

    private func server() -> [String] {
        [
            "# Server",
            "heapd_version:\(ServerCommands.version)",
            "process_id:\(getpid())",
            "listen:\(state.configuration.listenAddress)",
            "worker_threads:\(state.configuration.workerThreads)",
            "heap_shards:\(state.configuration.heap.shardCount)",
            "uptime_in_seconds:\(Int(Date().timeIntervalSince(state.startTime)))",
        ]
    }

    private func clients() -> [String] {
        [
            "# Clients",
            "connected_clients:\(state.connectedClients.load(ordering: .relaxed))",
            "max_clients:\(state.configuration.maxClients)",
            "total_connections_received:\(state.totalConnections.load(ordering: .relaxed))",
            "rejected_connections:\(state.rejectedConnections.load(ordering: .relaxed))",
            "total_commands_processed:\(state.totalCommands.load(ordering: .relaxed))",
            // Redis's names, which redis-cli --stat and redis_exporter read: a client is blocked while it
            // waits in GC WAIT.
            "blocked_clients:\(state.heap.collector.waiterCount)",
            "instantaneous_ops_per_sec:\(state.operationRate.reading(commands: state.totalCommands.load(ordering: .relaxed)))",
        ] + ClientsReport(state: state).lines()
    }

    private func memory() -> [String] {
        let stats = state.heap.statistics()
        let allocator = stats.allocator
        let budget = state.heap.memoryBudget
        let classes = allocator.blocksInUse.enumerated().filter { $0.element > 0 }
            .map { "\((($0.offset + 1) * 16)):\($0.element)" }.joined(separator: ",")
        return [
            "# Memory",
            // Redis's names first (redis-cli --stat and exporters read them), then heapd's own.
            "used_memory:\(stats.bytesInUse)",
            "used_memory_human:\(Self.redisHuman(stats.bytesInUse))",
            "used_memory_rss:\(Self.residentBytes())",
            "maxmemory:\(budget.cap)",
            "used_bytes:\(stats.bytesInUse)",
            "object_bytes:\(stats.objectBytes)",
            "handle_table_bytes:\(stats.handleTableBytes)",
            "small_block_bytes:\(allocator.smallBytesInUse)",
            "blocks_by_size_class:\(classes)",
            "pools:\(allocator.poolsInUse)",
            "arenas:\(allocator.arenas)",
            "arena_bytes:\(allocator.arenaBytes)",
            "idle_arenas:\(allocator.idleArenas)",
            "arenas_released:\(allocator.arenasReleased)",
            "large_blocks:\(allocator.largeBlocks)",
            "large_bytes:\(allocator.largeBytes)",
            "rss_bytes:\(Self.residentBytes())",
            "max_objects:\(state.configuration.heap.maxObjects)",
            "heap_mapped_bytes:\(budget.used)",
            "heap_mapped_peak_bytes:\(budget.peak)",
            "max_memory:\(budget.cap)",
            "max_memory_human:\(budget.cap == 0 ? "unlimited" : formatBytes(budget.cap))",
            "allocations_refused:\(budget.refused)",
        ]
    }

    /// A byte count as Redis's `bytesToHuman` writes it: `845.52K`, `1.50M`, `512B`.
    static func redisHuman(_ bytes: Int) -> String {
        let units: [(String, Double)] = [
            ("P", 1_125_899_906_842_624), ("T", 1_099_511_627_776), ("G", 1_073_741_824), ("M", 1_048_576), ("K", 1024),
        ]
        for (unit, size) in units where Double(bytes) >= size {
            return String(format: "%.2f%@", Double(bytes) / size, unit)
        }
        return "\(bytes)B"
    }

    private func objects() -> [String] {
        let stats = state.heap.statistics()
        var lines = ["# Objects", "objects:\(stats.objects)"]
        for kind in ObjectKind.allCases where kind != .none && kind != .bool {
            lines.append(
                "type_\(kind):count=\(stats.objectsByKind[kind, default: 0]),bytes=\(stats.bytesByKind[kind, default: 0])"
            )
        }
        lines.append("tracked_gen0:\(stats.generationLengths[0])")
        lines.append("tracked_gen1:\(stats.generationLengths[1])")
        lines.append("tracked_gen2:\(stats.generationLengths[2])")
        lines.append("tracked_permanent:\(stats.generationLengths[3])")
        return lines
    }

    private func gc() -> [String] {
        let collector = state.heap.collector
        let counts = collector.counts
        let thresholds = collector.thresholds
        let (sinceBeat, busy) = collector.heartbeat
        var lines = [
            "# GC",
            "gc_enabled:\(collector.isEnabled ? 1 : 0)",
            "gc_count:\(counts.map(String.init).joined(separator: ","))",
            "gc_threshold:\(thresholds.map(String.init).joined(separator: ","))",
            "gc_debug:\(collector.debugFlags)",
            "gc_garbage:\(collector.garbageCount)",
            "gc_freeze_count:\(collector.freezeCount)",
            "gc_collections_total:\(collector.collectionCount)",
            "gc_heartbeat_age_ms:\(sinceBeat / 1_000_000)",
            "gc_busy_ms:\(busy == 0 ? 0 : (CycleCollector.now() - busy) / 1_000_000)",
            "gc_mark_steps:\(collector.markStepCount)",
        ]
        for (generation, stats) in collector.statistics.enumerated() {
            lines.append(
                "gc_gen\(generation):collections=\(stats.collections),collected=\(stats.collected),"
                    + "uncollectable=\(stats.uncollectable),pause_count=\(stats.pauses.count),"
                    + "pause_total_us=\(stats.pauses.totalNanoseconds / 1000),pause_max_us=\(stats.pauses.maxNanoseconds / 1000),"
                    + "pause_p99_us=\(stats.pauses.p99Nanoseconds / 1000)")
        }
        if let last = collector.lastCollection {
            lines.append(
                "gc_last:generation=\(last.generation),collected=\(last.collected),uncollectable=\(last.uncollectable),pause_us=\(last.pauseNanoseconds / 1000)"
            )
        }
        return lines
    }

    /// Resident memory from /proc/self/statm (pages × page size).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
