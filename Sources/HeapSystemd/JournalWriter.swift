import CSystemd
import Foundation
import Glibc
import HeapCore

/// Hands journal entries to journald from its own thread (`heapd-journal`), so logging never blocks a
/// request on the journal.
///
/// `sd_journal_sendv` writes to a datagram socket that blocks when journald falls behind (rate limits,
/// a slow disk). Log calls therefore only append to a bounded queue; when it is full the entry is
/// dropped and counted (``droppedCount``), and once the queue drains the writer reports the loss in
/// an entry of its own (event `log_entries_dropped`).
public final class JournalWriter: Sendable {
    /// Entries waiting at most; beyond this, new entries are dropped.
    public let capacity: Int

    private struct Queue {
        var entries: [JournalEntry] = []
        var dropped = 0
        var reported = 0
        var busy = false
        var stop = false
        var running = false
    }

    private let queue: MonotonicCondition<Queue>
    private let sink: @Sendable (JournalEntry) -> Void

    /// - Parameter sink: sends one entry; `sd_journal_sendv` by default (tests pass a recorder).
    public init(capacity: Int = 4096, sink: @escaping @Sendable (JournalEntry) -> Void = JournalWriter.sendToJournald) {
        self.capacity = max(1, capacity)
        self.sink = sink
        queue = MonotonicCondition(Queue())
    }

    /// Starts the writer thread.
    public func start() {
        let alreadyRunning = queue.withLock { queue -> Bool in
            defer { queue.running = true }
            return queue.running
        }
        guard !alreadyRunning else { return }
        let thread = Thread { [self] in
            nameCurrentThread("heapd-journal")
            run()
        }
        thread.start()
    }

    /// Queues `entry`; returns false (and counts it) when the queue is full. Never blocks on journald.
    @discardableResult
    public func enqueue(_ entry: JournalEntry) -> Bool {
        queue.withLockAndBroadcast { queue in
            guard queue.entries.count < capacity else {
                queue.dropped += 1
                return false
            }
            queue.entries.append(entry)
            return true
        }
    }

    /// Entries dropped because the queue was full, since start.
    public var droppedCount: Int { queue.withLock { $0.dropped } }

    /// Waits up to `timeout` seconds until every queued entry was handed to journald (at exit, so the
    /// last words are not lost). Returns whether the queue drained.
    @discardableResult
    public func flush(timeout: Double = 2) -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(timeout * 1e9)
        return queue.wait(until: deadline, for: { ($0.entries.isEmpty && !$0.busy) || !$0.running }) {
            $0.entries.isEmpty && !$0.busy
        }
    }

    /// Writes what is queued, then stops the thread and waits for it.
    public func stop() {
        queue.withLockAndBroadcast { $0.stop = true }
        queue.wait(until: nil, for: { !$0.running }) { _ in }
    }

    private func run() {
        while true {
            let (batch, newlyDropped, stop) = queue.wait(until: nil, for: { !$0.entries.isEmpty || $0.stop }) {
                queue -> ([JournalEntry], Int, Bool) in
                let batch = queue.entries
                queue.entries.removeAll(keepingCapacity: true)
                queue.busy = !batch.isEmpty
                let newlyDropped = queue.dropped - queue.reported
                queue.reported = queue.dropped
                return (batch, newlyDropped, queue.stop)
            }
            for entry in batch { sink(entry) }
            if newlyDropped > 0 { sink(Self.droppedEntry(newlyDropped)) }
            queue.withLockAndBroadcast { $0.busy = false }
            if stop && batch.isEmpty { break }
        }
        queue.withLockAndBroadcast { $0.running = false }
    }

    /// The entry that reports `count` entries lost to a full queue.
    static func droppedEntry(_ count: Int) -> JournalEntry {
        JournalEntry(
            level: .warning, message: "\(count) log entries dropped: the journal queue was full",
            metadata: ["event": "\(ServiceLogEvent.logEntriesDropped.rawValue)", "dropped": "\(count)"],
            label: JournalEntry.syslogIdentifier, file: #fileID, function: #function, line: #line)
    }

    /// `sd_journal_sendv(3)` with one iovec per field. Returns nothing: journald's absence is not an
    /// error heapd can act on (and `sd_journal_sendv` reports success even then).
    @Sendable public static func sendToJournald(_ entry: JournalEntry) {
        // All fields in one buffer, one iovec per field pointing into it.
        var bytes: [UInt8] = []
        var lengths: [Int] = []
        for field in entry.fields {
            bytes.append(contentsOf: field.utf8)
            lengths.append(field.utf8.count)
        }
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            var vectors: [iovec] = []
            vectors.reserveCapacity(lengths.count)
            for length in lengths {
                vectors.append(iovec(iov_base: base + offset, iov_len: length))
                offset += length
            }
            _ = sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }
}
