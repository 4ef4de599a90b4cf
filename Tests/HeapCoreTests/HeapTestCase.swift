import HeapCore
import XCTest

/// A test case that owns a small heap and checks it for consistency after every test.
class HeapTestCase: XCTestCase {
    var heap: Heap!
    /// References the test holds, as variables would: the verifier counts them.
    var held: [ObjectRef: Int] = [:]

    override func setUp() {
        heap = Heap(configuration: HeapConfiguration(maxObjects: 1 << 24, shardCount: 4))
        held = [:]
    }

    override func tearDown() {
        let problems = heap.withWorldStopped { $0.verify(externalReferences: held) }
        XCTAssertEqual(problems, [], "heap inconsistent after test")
        // Give back what the test held, so the heap is empty when it goes: a heap dropped with live
        // objects leaks their large payloads (the address sanitizer's leak check reports them).
        for (ref, count) in held {
            for _ in 0..<count { heap.release(ref) }
        }
        held = [:]
        _ = try? heap.collector.collect(generation: 2)
        heap = nil
    }

    /// Records a reference the test keeps until the end.
    @discardableResult
    func hold(_ ref: ObjectRef) -> ObjectRef {
        held[ref, default: 0] += 1
        return ref
    }

    /// A chain of `count` lists, each holding the next; returns the head, whose reference the caller
    /// owns (dropping it frees the whole chain by reference count).
    func makeListChain(_ count: Int) throws -> ObjectRef {
        let head = try heap.makeList()
        var tail = head
        heap.retain(tail)
        for _ in 1..<count {
            let node = try heap.makeList()
            try heap.append(tail, node)
            heap.release(tail)
            tail = node
        }
        heap.release(tail)
        return head
    }

    func drop(_ ref: ObjectRef) {
        held[ref, default: 0] -= 1
        if held[ref] == 0 { held[ref] = nil }
        heap.release(ref)
    }
}
