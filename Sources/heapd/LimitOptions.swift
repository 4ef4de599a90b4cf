import ArgumentParser
import HeapServer

/// The limit flags (``LimitSetting``): each also a key of the `--config` file, which a flag overrides.
/// Byte sizes accept K, M and G suffixes (`--max-reply 16M`).
struct LimitOptions: ParsableArguments {
    @Option(name: .long, help: "Most clients connected at once (default 10000, lowered to fit RLIMIT_NOFILE).")
    var maxClients: String?

    @Option(name: .long, help: "Longest inline request line, in bytes (default 64K).")
    var maxLine: String?

    @Option(name: .long, help: "Most arguments in one request (default 1024).")
    var maxArgs: String?

    @Option(name: .long, help: "Longest bulk argument (RESP), in bytes (default 512M).")
    var maxBulk: String?

    @Option(name: .long, help: "Most objects alive at once (handle-table capacity; default 67108864).")
    var maxObjects: String?

    @Option(
        name: .long,
        help:
            "Memory cap of the heap (arenas and large payloads); 0 for none (default 75% of the cgroup's memory.max, the unit's MemoryMax=, else 50% of physical memory)."
    )
    var maxMemory: String?

    @Option(name: .long, help: "Unsent output at which a client's requests stop being read and run (default 1M).")
    var outputPause: String?

    @Option(name: .long, help: "Largest reply; a bigger one is answered -LIMIT (default 16M).")
    var maxReply: String?

    @Option(name: .long, help: "Unsent output past which a client is disconnected (default 32M).")
    var outputLimit: String?

    @Option(name: .long, help: "Bytes of partly received requests across all clients (default 1G).")
    var partialRequestBudget: String?

    @Option(name: .long, help: "Longest a command may run, in milliseconds; 0 for no limit (default 5000).")
    var commandTimeLimit: String?

    /// The flags given, by setting.
    var given: [LimitSetting: String] {
        let all: [(LimitSetting, String?)] = [
            (.maxClients, maxClients), (.maxLine, maxLine), (.maxArgs, maxArgs), (.maxBulk, maxBulk),
            (.maxObjects, maxObjects), (.maxMemory, maxMemory), (.outputPause, outputPause), (.maxReply, maxReply),
            (.outputLimit, outputLimit), (.partialRequestBudget, partialRequestBudget),
            (.commandTimeLimit, commandTimeLimit),
        ]
        return Dictionary(uniqueKeysWithValues: all.compactMap { setting, value in value.map { (setting, $0) } })
    }

    func validate() throws {
        for (setting, text) in given where setting.parse(text) == nil {
            throw ValidationError("--\(setting.rawValue) '\(text)' is not a number of \(setting.unit)")
        }
    }

    /// Applies the configuration file's limits, then the flags over them.
    func apply(file: [LimitSetting: Int], to configuration: inout ServerConfiguration) {
        for (setting, value) in file { configuration.set(setting, to: value) }
        for (setting, text) in given {
            if let value = setting.parse(text) { configuration.set(setting, to: value) }
        }
    }
}
