import Dispatch
import HeapCore
import Synchronization
import XCTest

/// Generators: Python's range and iterator semantics, laziness, and the references they hold.
final class GeneratorTests: HeapTestCase {
    /// Drains a generator into the Swift values of its int items.
    private func drainInts(_ generator: ObjectRef) throws -> [Int64] {
        var values: [Int64] = []
        while let item = try heap.next(generator) {
            defer { heap.release(item) }
            XCTAssertEqual(heap.kind(of: item), .int)
            values.append(Int64(heap.repr(item))!)
        }
        return values
    }

    private func reprs(_ generator: ObjectRef) throws -> [String] {
        var result: [String] = []
        while let item = try heap.next(generator) {
            result.append(heap.repr(item))
            heap.release(item)
        }
        return result
    }

    func testRangeMatchesPython() throws {
        // (start, stop, step) and list(range(start, stop, step)) as CPython prints it.
        let cases: [(Int64, Int64, Int64, [Int64])] = [
            (0, 5, 1, [0, 1, 2, 3, 4]),
            (10, 0, -3, [10, 7, 4, 1]),
            (-5, 5, 3, [-5, -2, 1, 4]),
            (5, -5, -4, [5, 1, -3]),
            (0, 0, 1, []),
            (5, 0, 1, []),
            (0, 5, -1, []),
            (3, 4, 100, [3]),
            (-1, -10, -1, [-1, -2, -3, -4, -5, -6, -7, -8, -9]),
            (Int64.max - 2, Int64.max, 1, [Int64.max - 2, Int64.max - 1]),
            (Int64.min, Int64.max, Int64.max, [Int64.min, -1, Int64.max - 1]),
            (Int64.max, Int64.min, Int64.min, [Int64.max, -1]),
        ]
        for (start, stop, step, expected) in cases {
            let range = try heap.makeRange(start: start, stop: stop, step: step)
            XCTAssertEqual(try drainInts(range), expected, "range(\(start), \(stop), \(step))")
            XCTAssertNil(try heap.next(range), "stays exhausted")
            heap.release(range)
        }
        XCTAssertThrowsError(try heap.makeRange(start: 0, stop: 5, step: 0)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .value)
        }
    }

    func testItemsAreCreatedOnlyByNext() throws {
        let before = heap.statistics().objects
        let range = hold(try heap.makeRange(start: 0, stop: 1_000_000))
        XCTAssertEqual(heap.statistics().objects, before + 1, "NEW makes the generator only, no items")
        for step in 1...3 {
            hold(try XCTUnwrap(try heap.next(range)))
            XCTAssertEqual(heap.statistics().objects, before + 1 + step, "one new int per NEXT")
        }
        // A dropped item is freed at once: the count does not grow.
        heap.release(try XCTUnwrap(try heap.next(range)))
        XCTAssertEqual(heap.statistics().objects, before + 4)
    }

    func testListIteratorSeesTheListGrowUntilExhausted() throws {
        let a = hold(try heap.makeInt(1))
        let b = hold(try heap.makeInt(2))
        let list = hold(try heap.makeList([a]))
        let iterator = hold(try heap.makeIterator(over: list))
        let first = try XCTUnwrap(try heap.next(iterator))
        XCTAssertEqual(first, a, "the existing item, not a copy")
        heap.release(first)
        try heap.append(list, b)
        let second = try XCTUnwrap(try heap.next(iterator))
        XCTAssertEqual(second, b, "appended after the iterator was made, still produced")
        heap.release(second)
        XCTAssertNil(try heap.next(iterator))
        // Exhausted means exhausted, as CPython's listiter: it no longer looks at the list.
        try heap.append(list, a)
        XCTAssertNil(try heap.next(iterator))
    }

    func testExhaustionDropsTheSourceReference() throws {
        let item = try heap.makeStr("x")
        let list = hold(try heap.makeList([item]))
        heap.release(item)
        XCTAssertEqual(heap.refcount(of: list), 1)
        let iterator = hold(try heap.makeIterator(over: list))
        XCTAssertEqual(heap.refcount(of: list), 2, "the iterator holds its source")
        XCTAssertEqual(heap.referents(of: iterator).map { ref in heap.release(ref) }.count, 1)
        heap.release(try XCTUnwrap(try heap.next(iterator)))
        XCTAssertEqual(heap.refcount(of: list), 2, "producing the last item keeps the source")
        XCTAssertNil(try heap.next(iterator))
        XCTAssertEqual(heap.refcount(of: list), 1, "finding no next item drops it")
        XCTAssertTrue(heap.referents(of: iterator).isEmpty)
    }

    func testDeallocReleasesTheSource() throws {
        let before = heap.statistics().objects
        let list = try heap.makeList()
        let iterator = try heap.makeIterator(over: list)
        heap.release(list)
        XCTAssertEqual(heap.statistics().objects, before + 2, "the iterator keeps its list alive")
        heap.release(iterator)
        XCTAssertEqual(heap.statistics().objects, before, "freeing the iterator freed the list")

        let kept = hold(try heap.makeTuple([hold(try heap.makeInt(7))]))
        let tupleIterator = try heap.makeIterator(over: kept)
        XCTAssertEqual(heap.refcount(of: kept), 2)
        heap.release(tupleIterator)
        XCTAssertEqual(heap.refcount(of: kept), 1)
    }

    func testListHoldingItsOwnIteratorIsFreedByTheCollector() throws {
        heap.collector.setEnabled(false)
        _ = try heap.collector.collect()
        let before = heap.statistics().objects
        let list = try heap.makeList()
        let iterator = try heap.makeIterator(over: list)
        try heap.append(list, iterator)
        XCTAssertTrue(heap.isTracked(iterator))
        heap.release(iterator)
        heap.release(list)
        XCTAssertEqual(heap.statistics().objects, before + 2, "a cycle: refcounting alone frees nothing")
        XCTAssertEqual(try heap.collector.collect(), 2)
        XCTAssertEqual(heap.statistics().objects, before)
    }

    func testIteratorsOverTupleDictSetAndStr() throws {
        let one = hold(try heap.makeInt(1))
        let word = hold(try heap.makeStr("hé!"))
        let tuple = hold(try heap.makeTuple([one, word]))
        XCTAssertEqual(try reprs(hold(try heap.makeIterator(over: tuple))), ["1", "'hé!'"])
        XCTAssertEqual(try reprs(hold(try heap.makeIterator(over: .emptyTuple))), [])
        XCTAssertEqual(try reprs(hold(try heap.makeIterator(over: word))), ["'h'", "'é'", "'!'"])

        let dict = hold(try heap.makeDict())
        for key in ["b", "a", "c"] { try heap.setItem(dict, key: key, one) }
        try heap.deleteItem(dict, key: "a")
        XCTAssertEqual(try reprs(hold(try heap.makeIterator(over: dict))), ["'b'", "'c'"], "keys, insertion order")

        let set = hold(try heap.makeSet([one, word, one]))
        XCTAssertEqual(Set(try reprs(hold(try heap.makeIterator(over: set)))), ["1", "'hé!'"])

        // A generator is its own iterator.
        let range = hold(try heap.makeRange(start: 0, stop: 2))
        let same = hold(try heap.makeIterator(over: range))
        XCTAssertEqual(same, range)

        XCTAssertThrowsError(try heap.makeIterator(over: one)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .wrongType)
        }
        XCTAssertThrowsError(try heap.next(tuple)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .wrongType)
        }
    }

    func testDictChangingSizeDuringIterationIsAnErrorThatStays() throws {
        let one = hold(try heap.makeInt(1))
        let dict = hold(try heap.makeDict())
        try heap.setItem(dict, key: "a", one)
        try heap.setItem(dict, key: "b", one)
        let iterator = hold(try heap.makeIterator(over: dict))
        heap.release(try XCTUnwrap(try heap.next(iterator)))
        try heap.setItem(dict, key: "c", one)
        for _ in 0..<2 {
            XCTAssertThrowsError(try heap.next(iterator)) { error in
                XCTAssertEqual((error as? HeapError)?.code, .value)
            }
        }
        try heap.deleteItem(dict, key: "c")
        XCTAssertThrowsError(try heap.next(iterator), "the size is back, but CPython's error stays")
    }

    func testListAndSumConsumeAGenerator() throws {
        let range = hold(try heap.makeRange(start: 0, stop: 10))
        heap.release(try XCTUnwrap(try heap.next(range)))
        let rest = hold(try heap.makeList(from: range))
        XCTAssertEqual(heap.repr(rest), "[1, 2, 3, 4, 5, 6, 7, 8, 9]")
        XCTAssertNil(try heap.next(range), "list() consumed the generator")
        XCTAssertEqual(heap.repr(hold(try heap.makeList(from: range))), "[]")

        let total = hold(try heap.sum(hold(try heap.makeRange(start: 1, stop: 101))))
        XCTAssertEqual(heap.repr(total), "5050")
        XCTAssertEqual(heap.repr(hold(try heap.sum(rest))), "45", "a list is summed too")
        XCTAssertEqual(heap.repr(hold(try heap.sum(.emptyTuple))), "0")
        XCTAssertEqual(heap.kind(of: hold(try heap.sum(.emptyTuple))), .int)

        // Ints exactly, then floats in order; bools count as ints (CPython 3.11's sum).
        let half = hold(try heap.makeFloat(0.5))
        let three = hold(try heap.makeInt(3))
        let mixed = hold(try heap.makeList([three, .true, half, three]))
        XCTAssertEqual(heap.repr(hold(try heap.sum(mixed))), "7.5")
        let tenths = hold(try heap.makeFloat(0.1))
        let floats = hold(try heap.makeList([tenths, tenths, tenths]))
        XCTAssertEqual(heap.repr(hold(try heap.sum(floats))), "0.30000000000000004", "no compensation, as 3.11")
    }

    func testSumErrorsLeaveTheGeneratorConsumedUpToTheBadItem() throws {
        let one = hold(try heap.makeInt(1))
        let word = hold(try heap.makeStr("x"))
        let two = hold(try heap.makeInt(2))
        let list = hold(try heap.makeList([one, word, two]))
        let iterator = hold(try heap.makeIterator(over: list))
        XCTAssertThrowsError(try heap.sum(iterator)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .type)
            XCTAssertTrue("\(error)".contains("'int' and 'str'"), "\(error)")
        }
        let next = try XCTUnwrap(try heap.next(iterator))
        XCTAssertEqual(next, two, "the str was consumed, the item after it was not")
        heap.release(next)

        let big = hold(try heap.makeInt(Int64.max))
        let overflow = hold(try heap.makeList([big, one]))
        XCTAssertThrowsError(try heap.sum(overflow)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .value)
        }
        // Only the result must fit, as in Python: a partial sum beyond 64 bits is fine.
        let minusTwo = hold(try heap.makeInt(-2))
        let back = hold(try heap.makeList([big, one, minusTwo]))
        XCTAssertEqual(heap.repr(hold(try heap.sum(back))), "\(Int64.max - 1)")
        XCTAssertThrowsError(try heap.sum(one)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .wrongType)
        }
    }

    func testSumOfAGeneratorKeepsOneItemAlive() throws {
        let before = heap.statistics().objects
        let range = hold(try heap.makeRange(start: 0, stop: 100_000))
        let total = hold(try heap.sum(range))
        XCTAssertEqual(heap.repr(total), "4999950000")
        XCTAssertEqual(heap.statistics().objects, before + 2, "the generator and the result only")
        let peakBefore = heap.statistics().objects
        let list = hold(try heap.makeList(from: hold(try heap.makeRange(start: 0, stop: 1000))))
        XCTAssertEqual(try heap.length(of: list), 1000)
        XCTAssertEqual(heap.statistics().objects, peakBefore + 2 + 1000, "LIST keeps every item")
    }

    /// Threads sharing one generator (a global in the server) each get distinct items, none lost.
    func testConcurrentNextProducesEachItemOnce() throws {
        let heap = self.heap!
        let count = 40_000
        let range = hold(try heap.makeRange(start: 0, stop: Int64(count)))
        let items = try (0..<count).map { index in try heap.makeInt(Int64(index)) }
        let list = hold(try heap.makeList(items))
        for item in items { heap.release(item) }
        let iterator = hold(try heap.makeIterator(over: list))
        let produced = Atomic<Int>(0)
        let total = Atomic<Int>(0)
        let squares = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            heap.gate.shared {
                for generator in [range, iterator] {
                    while let item = try! heap.next(generator, shard: thread) {
                        let value = Int(heap.repr(item))!
                        heap.release(item, shard: thread)
                        produced.wrappingAdd(1, ordering: .relaxed)
                        total.wrappingAdd(value, ordering: .relaxed)
                        squares.wrappingAdd(value * value, ordering: .relaxed)
                    }
                }
            }
        }
        let n = count - 1
        XCTAssertEqual(produced.load(ordering: .relaxed), 2 * count)
        XCTAssertEqual(total.load(ordering: .relaxed), 2 * (n * (n + 1) / 2))
        XCTAssertEqual(squares.load(ordering: .relaxed), 2 * (n * (n + 1) * (2 * n + 1) / 6))
        XCTAssertEqual(heap.refcount(of: list), 1, "exhausted once, the source dropped once")
    }

    func testGeneratorIsAKindLikeTheOthers() throws {
        let range = hold(try heap.makeRange(start: 0, stop: 3))
        XCTAssertEqual(heap.typeName(of: range), "generator")
        XCTAssertEqual(heap.kind(of: range), .generator)
        XCTAssertEqual(heap.repr(range), "<generator object at \(heap.id(of: range))>")
        XCTAssertTrue(heap.isTracked(range))
        XCTAssertTrue(heap.referents(of: range).isEmpty, "a range references nothing")
        XCTAssertThrowsError(try heap.length(of: range)) { error in
            XCTAssertEqual((error as? HeapError)?.code, .wrongType)
        }
        // Hashable by identity: two generators are two set elements, the same one is one.
        let other = hold(try heap.makeRange(start: 0, stop: 3))
        let set = hold(try heap.makeSet([range, other, range]))
        XCTAssertEqual(try heap.length(of: set), 2)
        XCTAssertTrue(try heap.contains(set, range))
        let stats = heap.statistics()
        XCTAssertEqual(stats.objectsByKind[.generator], 2)
        XCTAssertEqual(stats.bytesByKind[.generator], 2 * 48)
    }
}
