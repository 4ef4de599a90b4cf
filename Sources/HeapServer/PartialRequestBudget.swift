/// The budget for partly received requests across all clients (``ConnectionLimits/partialRequestBudget``),
/// as a value: who holds how many bytes of a request not yet complete, and whom to evict past the budget.
///
/// Each request is bounded on its own (`max-line`, `max-bulk` × `max-args`), but not their sum: six
/// clients each sending 400 MiB of a declared 512 MiB bulk would hold 2.4 GiB. Redis bounds the same
/// with `maxmemory-clients`, evicting the client that costs most; so does this: past the budget the
/// client whose partial request is biggest is chosen, which frees the most with one eviction and never
/// punishes a small client for a big one.
///
/// Invariant: `total` is the sum of `bytesByClient`'s values, and no entry is 0.
struct PartialRequestBudget {
    let limit: Int
    private(set) var total = 0
    private var bytesByClient: [Int: Int] = [:]

    init(limit: Int) {
        self.limit = limit
    }

    /// Client `id` now holds `bytes` of partial requests. Returns the clients to evict (with the bytes
    /// each held), biggest first, so that the rest fit the budget; they are no longer counted.
    mutating func update(client id: Int, bytes: Int) -> [(client: Int, bytes: Int)] {
        let old = bytesByClient[id] ?? 0
        if bytes == old { return [] }
        total += bytes - old
        bytesByClient[id] = bytes == 0 ? nil : bytes
        var evicted: [(client: Int, bytes: Int)] = []
        // Invariant: each pass removes the biggest holder; the loop ends because total shrinks to 0 at worst.
        while total > limit,
            let biggest = bytesByClient.max(by: { $0.value < $1.value || $0.value == $1.value && $0.key > $1.key })
        {
            bytesByClient[biggest.key] = nil
            total -= biggest.value
            evicted.append((biggest.key, biggest.value))
        }
        return evicted
    }

    /// The client left: its bytes are no longer counted.
    mutating func remove(client id: Int) {
        if let old = bytesByClient.removeValue(forKey: id) { total -= old }
    }

    /// The bytes client `id` is counted for.
    func bytes(of id: Int) -> Int { bytesByClient[id] ?? 0 }
}
