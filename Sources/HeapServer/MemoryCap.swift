import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The default of heapd's memory cap (`--max-memory`, `max-memory =`; ``LimitSetting`` parses it).
///
/// Why a share and not all of it: the cap bounds the heap's arenas and large payloads, while heapd also
/// needs memory of its own (connection buffers, up to their limits; tracemalloc's tables; the Swift
/// runtime). Under systemd the unit's `MemoryMax=` is the cgroup's `memory.max`, so the flag's default
/// and the unit agree without being written twice: the heap refuses with `LIMIT` well before the
/// kernel's OOM killer would end the whole daemon.
public enum MemoryCap {
    /// The share of the cgroup's `memory.max` the heap may use when the cgroup has one.
    public static let cgroupShare = 0.75
    /// The share of physical memory the heap may use when there is no cgroup limit.
    public static let physicalShare = 0.5

    /// The default cap, from the cgroup's `memory.max` text (nil or "max": none) and physical memory.
    public static func defaultCap(cgroupMemoryMax: String?, physicalBytes: Int) -> Int {
        if let text = cgroupMemoryMax?.trimmingCharacters(in: .whitespacesAndNewlines), let limit = Int(text),
            limit > 0
        {
            return Int(Double(min(limit, physicalBytes > 0 ? physicalBytes : limit)) * cgroupShare)
        }
        return Int(Double(physicalBytes) * physicalShare)
    }

    /// The default cap for this process: reads its cgroup (v2) and the machine's memory.
    public static func defaultCapForThisProcess() -> Int {
        defaultCap(cgroupMemoryMax: cgroupMemoryMax(), physicalBytes: physicalMemory())
    }

    /// `memory.max` of this process's cgroup (v2 unified hierarchy), if readable.
    static func cgroupMemoryMax() -> String? {
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        // v2: one line "0::/path/of/the/cgroup".
        guard let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let path = String(line.dropFirst(3))
        return try? String(contentsOfFile: "/sys/fs/cgroup\(path)/memory.max", encoding: .utf8)
    }

    static func physicalMemory() -> Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : 0
    }
}
