import HeapCore
import XCTest

/// The `sys.getsizeof` model against figures read off CPython 3.11.7 (64-bit Linux), so that the model is
/// checked where python3.11 is not installed too (`SizeofIntegrationTests` asks CPython itself), and
/// heapd's lists against the same figures after the same history.
final class CPythonSizeTests: HeapTestCase {
    func testListGrowthIsListResizes() {
        // [] then appends: the size after each of 30 appends, as CPython 3.11.7 printed them.
        let measured = [
            88, 88, 88, 88, 120, 120, 120, 120, 184, 184, 184, 184, 184, 184, 184, 184, 248, 248, 248, 248, 248,
            248, 248, 248, 312, 312, 312, 312, 312, 312,
        ]
        var allocated = 0
        for (index, size) in measured.enumerated() {
            let count = index + 1
            if count > allocated { allocated = CPythonSize.listGrowth(to: count) }
            XCTAssertEqual(CPythonSize.list(allocated: allocated), size, "after \(count) appends")
        }
        // list(iter(range(n))) for n = 0...11.
        XCTAssertEqual(
            (0...11).map { CPythonSize.list(allocated: CPythonSize.listFromIterator(count: $0)) },
            [56, 72, 72, 88, 88, 104, 104, 120, 120, 136, 136, 152])
        XCTAssertEqual(CPythonSize.listAfterRemoval(newSize: 6, allocated: 40), 12)
        XCTAssertEqual(CPythonSize.listAfterRemoval(newSize: 20, allocated: 40), 40, "half full: kept")
        XCTAssertEqual(CPythonSize.listAfterRemoval(newSize: 0, allocated: 4), 0)
    }

    func testDictAndSetTablesGrowAsCPythons() {
        // d = {} then d[str] = v: sizes after 0...40 insertions; set() then add: after 0...40.
        let dict =
            [64] + [Int](repeating: 184, count: 5) + [Int](repeating: 272, count: 5)
            + [Int](repeating: 464, count: 11) + [Int](repeating: 832, count: 19)
        XCTAssertEqual((0...40).map(CPythonSize.dict(count:)), dict)
        let set = [Int](repeating: 216, count: 5) + [Int](repeating: 728, count: 14) + [Int](repeating: 2264, count: 22)
        XCTAssertEqual((0...40).map(CPythonSize.set(count:)), set)
    }

    func testScalars() {
        XCTAssertEqual([0, 1, -5, 1 << 30, Int64.max, Int64.min].map(CPythonSize.int), [28, 28, 28, 32, 36, 36])
        XCTAssertEqual(
            ["", "a", "é", "ab", "€", "😀", "aaaaaaaaaaé"].map { CPythonSize.str(utf8: Array($0.utf8)) },
            [49, 50, 74, 51, 76, 80, 84])
        XCTAssertEqual(CPythonSize.bytes(count: 3), 36)
        XCTAssertEqual([0, 1, 3].map(CPythonSize.tuple(count:)), [40, 48, 64])
    }

    func testHeapListsKeepCPythonsAllocation() throws {
        let item = hold(try heap.makeInt(1000))
        let list = hold(try heap.makeList())
        XCTAssertEqual(heap.sizes(of: list).python, 56, "[]")
        for _ in 0..<5 { try heap.append(list, item) }
        XCTAssertEqual(heap.sizes(of: list).python, 120, "[] and 5 appends: 8 slots")
        var afterPops: [Int] = []
        for _ in 0..<5 {
            heap.release(try heap.pop(list))
            afterPops.append(heap.sizes(of: list).python)
        }
        XCTAssertEqual(afterPops, [120, 120, 120, 88, 56], "CPython 3.11.7 after each pop")
        let display = hold(try heap.makeList([item, item, item]))
        XCTAssertEqual(heap.sizes(of: display).python, 80, "[a, b, c] is allocated exactly")
        try heap.clear(display)
        XCTAssertEqual(heap.sizes(of: display).python, 56, "clear() drops the array")
    }
}
