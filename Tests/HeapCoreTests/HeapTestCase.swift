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

    func drop(_ ref: ObjectRef) {
        held[ref, default: 0] -= 1
        if held[ref] == 0 { held[ref] = nil }
        heap.release(ref)
    }
}
