import HeapCore
import XCTest

final class ContainerTests: HeapTestCase {
    func testEveryTypeAndItsRepr() throws {
        let int = hold(try heap.makeInt(-42))
        let float = hold(try heap.makeFloat(1.5))
        let str = hold(try heap.makeStr("it's \"q\"\n"))
        let bytes = hold(try heap.makeBytes(Array("ab\u{0}".utf8)))
        let zeros = hold(try heap.makeZeroBytes(count: 1 << 20))
        let tuple = hold(try heap.makeTuple([int]))
        let list = hold(try heap.makeList([int, float, .none, .true]))
        let set = hold(try heap.makeSet([int, int, str]))
        let dict = hold(try heap.makeDict())
        try heap.setItem(dict, key: "k", list)
        let node = hold(try heap.makeInstance(className: "Node"))
        try heap.setAttribute(node, "value", int)

        XCTAssertEqual(heap.repr(int), "-42")
        XCTAssertEqual(heap.repr(float), "1.5")
        XCTAssertEqual(heap.repr(str), "'it\\'s \"q\"\\n'")
        XCTAssertEqual(heap.repr(bytes), "b'ab\\x00'")
        XCTAssertTrue(heap.repr(zeros).hasSuffix("... (1048576 bytes)"))
        XCTAssertEqual(heap.repr(tuple), "(-42,)")
        XCTAssertEqual(heap.repr(list), "[-42, 1.5, None, True]")
        XCTAssertEqual(try heap.length(of: set), 2)
        XCTAssertEqual(heap.repr(dict), "{'k': [-42, 1.5, None, True]}")
        XCTAssertEqual(heap.typeName(of: node), "Node")
        XCTAssertTrue(heap.repr(node).hasPrefix("<Node object at #"))
        XCTAssertEqual(heap.refcount(of: int), 5)  // held, tuple, list, set, attribute
        XCTAssertEqual(try heap.length(of: zeros), 1 << 20)
    }

    func testCycleReprIsSafe() throws {
        let list = hold(try heap.makeList())
        try heap.append(list, list)
        XCTAssertEqual(heap.repr(list), "[[...]]")
        let deep = hold(try heap.makeList())
        var current = deep
        for _ in 0..<20 {
            let next = try heap.makeList()
            try heap.append(current, next)
            heap.release(next)
            current = next
        }
        XCTAssertEqual(heap.repr(deep, maxDepth: 2), "[[[...]]]")
        try heap.clear(list)  // break the cycle so the verifier's count matches
    }

    /// Every way a list's items move between the inline slots and an array (the capacity is CPython's
    /// `allocated`, the place heapd's own): each list keeps its items in order, and the verifier (run
    /// after every test) finds each count right — a third item written into two inline slots would
    /// overwrite the next block, as a first version did for a display of two that grew.
    func testListItemsMoveBetweenInlineSlotsAndAnArray() throws {
        let items = (0..<6).map { hold(try! heap.makeInt(Int64($0))) }
        for start in 0...3 {
            // A display of `start` items (capacity exactly that), then appends up to 6, then pops to 0.
            let list = hold(try heap.makeList(Array(items[0..<start])))
            let neighbour = hold(try heap.makeList([items[5]]))  // likely the next block
            for index in start..<6 { try heap.append(list, items[index]) }
            XCTAssertEqual(heap.repr(list), "[0, 1, 2, 3, 4, 5]", "display of \(start), then appends")
            for expected in stride(from: 5, through: 0, by: -1) {
                let popped = try heap.pop(list)
                XCTAssertEqual(heap.repr(popped), "\(expected)")
                heap.release(popped)
            }
            XCTAssertEqual(heap.repr(list), "[]")
            try heap.insert(list, at: 0, items[1])
            try heap.insert(list, at: 0, items[0])
            try heap.insert(list, at: 2, items[2])
            XCTAssertEqual(heap.repr(list), "[0, 1, 2]")
            XCTAssertEqual(heap.repr(neighbour), "[5]", "the next object is untouched")
            try heap.clear(list)
        }
    }

    func testListOperationsAndErrors() throws {
        let list = hold(try heap.makeList())
        var values: [ObjectRef] = []
        for index in 0..<10 {
            let value = try heap.makeInt(Int64(index))
            values.append(value)
            try heap.append(list, value)
            heap.release(value)
        }
        XCTAssertEqual(try heap.length(of: list), 10)
        let last = try heap.pop(list)
        XCTAssertEqual(heap.repr(last), "9")
        heap.release(last)
        let first = try heap.item(list, at: -9)
        XCTAssertEqual(heap.repr(first), "0")
        try heap.insert(list, at: 0, first)
        heap.release(first)
        XCTAssertEqual(heap.repr(list), "[0, 0, 1, 2, 3, 4, 5, 6, 7, 8]")
        XCTAssertThrowsError(try heap.item(list, at: 10)) { XCTAssertEqual(($0 as? HeapError)?.code, .index) }
        XCTAssertThrowsError(try heap.append(values[0], list)) {
            XCTAssertEqual(($0 as? HeapError)?.code, .wrongType)
        }
        try heap.setItem(list, at: 1, .none)
        try heap.deleteItem(list, at: 0)
        XCTAssertEqual(heap.repr(list), "[None, 1, 2, 3, 4, 5, 6, 7, 8]")
        let empty = hold(try heap.makeList())
        XCTAssertThrowsError(try heap.pop(empty)) { XCTAssertEqual(($0 as? HeapError)?.code, .index) }
    }

    func testDictKeepsInsertionOrderThroughGrowthAndDeletes() throws {
        let dict = hold(try heap.makeDict())
        for index in 0..<100 {
            let value = try heap.makeInt(Int64(index))
            try heap.setItem(dict, key: "k\(index)", value)
            heap.release(value)
        }
        for index in stride(from: 0, to: 100, by: 2) { try heap.deleteItem(dict, key: "k\(index)") }
        XCTAssertEqual(try heap.length(of: dict), 50)
        let keys = try heap.keys(of: dict)
        XCTAssertEqual(keys.map { heap.repr($0) }, stride(from: 1, to: 100, by: 2).map { "'k\($0)'" })
        for key in keys { heap.release(key) }
        let value = try heap.item(dict, key: "k99")
        XCTAssertEqual(heap.repr(value), "99")
        heap.release(value)
        XCTAssertThrowsError(try heap.item(dict, key: "k0")) { XCTAssertEqual(($0 as? HeapError)?.code, .key) }
        XCTAssertTrue(try heap.contains(dict, key: "k1"))
        XCTAssertFalse(try heap.contains(dict, key: "k2"))
        try heap.clear(dict)
        XCTAssertEqual(try heap.length(of: dict), 0)
    }

    func testSetsHashByValueAndRejectUnhashable() throws {
        let one = hold(try heap.makeInt(1))
        let oneFloat = hold(try heap.makeFloat(1.0))
        let set = hold(try heap.makeSet([one]))
        try heap.add(set, oneFloat)
        try heap.add(set, .true)
        XCTAssertEqual(try heap.length(of: set), 1, "1 == 1.0 == True")
        let list = hold(try heap.makeList())
        XCTAssertThrowsError(try heap.add(set, list)) { XCTAssertEqual(($0 as? HeapError)?.code, .type) }
        XCTAssertTrue(try heap.contains(set, oneFloat))
        try heap.remove(set, one, mustExist: true)
        XCTAssertThrowsError(try heap.remove(set, one, mustExist: true)) {
            XCTAssertEqual(($0 as? HeapError)?.code, .key)
        }
        try heap.remove(set, one, mustExist: false)
    }

    func testAttributes() throws {
        let node = hold(try heap.makeInstance(className: "Node"))
        XCTAssertThrowsError(try heap.attribute(node, "next")) { XCTAssertEqual(($0 as? HeapError)?.code, .key) }
        try heap.setAttribute(node, "next", node)
        let next = try heap.attribute(node, "next")
        XCTAssertEqual(next, node)
        heap.release(next)
        XCTAssertEqual(heap.refcount(of: node), 2)
        try heap.deleteAttribute(node, "next")
        XCTAssertEqual(heap.refcount(of: node), 1)
    }

    func testTwoElementListFitsIn64Bytes() throws {
        let item = hold(try heap.makeInt(7))
        let before = heap.statistics()
        let list = hold(try heap.makeList([item, item]))
        let after = heap.statistics()
        XCTAssertLessThanOrEqual(after.bytesInUse - before.bytesInUse, 64)
        _ = list
    }
}
