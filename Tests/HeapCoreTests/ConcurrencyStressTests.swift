import Dispatch
import Foundation
import HeapCore
import HeapdTesting
import Synchronization
import XCTest

/// The races a concurrent server exposes, driven straight on the heap: threads that share a table of
/// "globals" and rebind, delete and weakly reference them while another thread stops the world and
/// verifies. Each test ends with the heap back at its baseline and consistent (``HeapTestCase``).
///
/// These tests are the unit-level twin of `tests/soak`: they reproduce in seconds what took the soak
/// 20–40 s over the socket (issue 9), and they run under the thread sanitizer in CI.
final class ConcurrencyStressTests: HeapTestCase {
    /// A table of shared bindings, like the server's globals: each slot owns one reference; rebinding
    /// returns the old one, which the caller releases after unlocking (as `GlobalNamespace` does).
    final class SharedSlots: Sendable {
        // HeapCore's pthread-based lock, not Synchronization's Mutex: the thread sanitizer sees
        // pthread locks, while Mutex's futex handoff looks like a race to it.
        let slots: LockedValue<[ObjectRef?]>
        init(count: Int) { slots = LockedValue([ObjectRef?](repeating: nil, count: count)) }

        func bind(_ index: Int, _ ref: ObjectRef?) -> ObjectRef? {
            slots.withLock { table in
                let old = table[index]
                table[index] = ref
                return old
            }
        }

        func retained(_ index: Int, heap: Heap) -> ObjectRef? {
            slots.withLock { table in
                guard let ref = table[index] else { return nil }
                heap.retain(ref)
                return ref
            }
        }

        func references() -> [ObjectRef: Int] {
            slots.withLock { table in
                var counts: [ObjectRef: Int] = [:]
                for case let ref? in table { counts[ref, default: 0] += 1 }
                return counts
            }
        }
    }

    /// The weakref race of issue 9: `WEAKREF w g.xN`, `WEAKREF g.xN g.xM`, `NEW g.xN list`,
    /// `SET g.xN w`, `DEL g.xN` from many threads. Before the fix, a target's death read the weakref
    /// list after dropping the registry lock while another thread freed one of those weakrefs
    /// ("Unexpectedly found nil" in `HandleTable.object`), or wrote into a block that another object
    /// already owned.
    func testWeakrefsToSharedObjectsRebindAndDieConcurrently() throws {
        try runSharedMix(threads: 6, operations: 150_000, slotCount: 8, seed: 9)
    }

    /// The same mix with containers, dicts, instances, finalizers and collections thrown in, so
    /// cycles through weakrefs and shared objects are freed by the collector as well as by refcount.
    func testSharedMixWithCollectionsAndFinalizers() throws {
        try runSharedMix(threads: 4, operations: 100_000, slotCount: 12, seed: 11, collect: true)
    }

    /// The thread sanitizer slows every access about 30×; under it the mixes run a fifth as long
    /// (it sees a race in any interleaving it observes, so it needs fewer rounds than a crash does).
    static let scale: Int = dlsym(dlopen(nil, RTLD_NOW), "__tsan_init") == nil ? 1 : 5

    private func runSharedMix(threads: Int, operations: Int, slotCount: Int, seed: UInt64, collect: Bool = false)
        throws
    {
        let heap = self.heap!
        let operations = operations / Self.scale
        let shared = SharedSlots(count: slotCount)
        let baseline = heap.statistics().objects
        let done = Atomic<Int>(0)
        let problems = LockedValue<[String]>([])
        let verifications = Atomic<Int>(0)

        // The checker: stops the world while the mutators run and verifies every count.
        let checker = Thread {
            while done.load(ordering: .acquiring) < threads {
                let found = heap.withWorldStopped { $0.verify(externalReferences: shared.references()) }
                verifications.add(1, ordering: .relaxed)
                if !found.isEmpty { problems.withLock { $0 += found } }
                if collect && verifications.load(ordering: .relaxed) % 3 == 0 {
                    _ = try? heap.collector.collect(generation: 2)
                }
                usleep(2_000)
            }
        }
        checker.start()

        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var random = SeededGenerator(seed: seed &* 1_000 &+ UInt64(thread))
            let shard = thread
            for _ in 0..<operations {
                heap.gate.shared {
                    Self.step(heap, shared, &random, shard: shard, slotCount: slotCount, collect: collect)
                }
            }
            done.add(1, ordering: .releasing)
        }
        while !checker.isFinished { usleep(1_000) }

        XCTAssertEqual(problems.withLock { $0 }, [], "DEBUG VERIFY found problems while mutators ran")
        XCTAssertGreaterThan(verifications.load(ordering: .relaxed), 0)
        // Everything shared goes; a full collection takes the cycles; the heap is back at its baseline.
        for index in 0..<slotCount {
            if let old = shared.bind(index, nil) { heap.release(old) }
        }
        _ = try heap.collector.collect(generation: 2)
        XCTAssertEqual(heap.statistics().objects, baseline, "objects leaked or counted twice")
    }

    /// One random operation on the shared slots (inside the gate).
    private static func step(
        _ heap: Heap, _ shared: SharedSlots, _ random: inout SeededGenerator, shard: Int, slotCount: Int, collect: Bool
    ) {
        let index = random.next(slotCount)
        let other = random.next(slotCount)
        switch random.next(collect ? 10 : 6) {
        case 0:  // NEW g.xN list
            if let list = try? heap.makeList(shard: shard), let old = shared.bind(index, list) {
                heap.release(old, shard: shard)
            }
        case 1:  // WEAKREF w g.xN, then SET g.xM w
            guard let target = shared.retained(index, heap: heap) else { return }
            defer { heap.release(target, shard: shard) }
            if let weak = try? heap.makeWeakref(to: target, shard: shard), let old = shared.bind(other, weak) {
                heap.release(old, shard: shard)
            }
        case 2:  // DEL g.xN
            if let old = shared.bind(index, nil) { heap.release(old, shard: shard) }
        case 3:  // DEREF: a weakref's target, if still alive
            guard let ref = shared.retained(index, heap: heap) else { return }
            defer { heap.release(ref, shard: shard) }
            if heap.kind(of: ref) == .weakref, let target = try? heap.weakrefTarget(ref) {
                heap.release(target, shard: shard)
            }
        case 4:  // SET g.xN g.xM
            let ref = shared.retained(other, heap: heap)
            if let old = shared.bind(index, ref) { heap.release(old, shard: shard) }
        case 5:  // a short-lived weakref to a shared object, dropped at once
            guard let target = shared.retained(index, heap: heap) else { return }
            if let weak = try? heap.makeWeakref(to: target, shard: shard) { heap.release(weak, shard: shard) }
            heap.release(target, shard: shard)
        case 6:  // APPEND g.xN g.xM: lists that reference shared objects, cycles included
            guard let list = shared.retained(index, heap: heap) else { return }
            defer { heap.release(list, shard: shard) }
            guard heap.kind(of: list) == .list, let item = shared.retained(other, heap: heap) else { return }
            try? heap.append(list, item, shard: shard)
            heap.release(item, shard: shard)
        case 7:  // an instance with a finalizer that holds a shared object, bound to a slot
            guard let instance = try? heap.makeInstance(className: "Node", shard: shard) else { return }
            try? heap.setFinalizer(instance, legacy: false)
            if let item = shared.retained(other, heap: heap) {
                try? heap.setAttribute(instance, "next", item, shard: shard)
                heap.release(item, shard: shard)
            }
            if let old = shared.bind(index, instance) { heap.release(old, shard: shard) }
        case 8:  // a dict with str keys and a shared value
            guard let dict = try? heap.makeDict(shard: shard) else { return }
            if let item = shared.retained(other, heap: heap) {
                try? heap.setItem(dict, key: "k\(other)", item, shard: shard)
                heap.release(item, shard: shard)
            }
            if let old = shared.bind(index, dict) { heap.release(old, shard: shard) }
        default:  // strs come and go: the per-kind counters must follow them exactly
            if let text = try? heap.makeStr("s\(index)", shard: shard), let old = shared.bind(index, text) {
                heap.release(old, shard: shard)
            }
        }
    }
}

extension SeededGenerator {
    /// A number in `0..<bound` (modulo: the stress only needs every value reachable, each thread its own
    /// deterministic sequence).
    fileprivate mutating func next(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
