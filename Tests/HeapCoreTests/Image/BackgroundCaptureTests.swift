import Foundation
import HeapdTesting
import XCTest

@testable import HeapCore

/// `BGSAVE`'s capture while the heap runs: whatever the mutators do after the first stop, the image is
/// byte for byte the one a stopped capture takes in that stop (in the same record order).
final class BackgroundCaptureTests: XCTestCase {
    /// Starts a background capture, taking in its first stop the stopped capture of the same instant.
    private func begin(_ heap: Heap, _ built: HeapImageTests.RandomHeap) -> (BackgroundCapture, [UInt8]) {
        var reference: HeapImage?
        let capture = heap.beginBackgroundCapture { stopped in
            reference = stopped.captureImage(globals: built.globals, dropping: built.session, order: .slots)
            return (built.globals, built.session)
        }
        return (capture!, ImageWriter.bytes(of: reference!))
    }

    /// Changes the objects in `owned` (references the caller owns, given up here) every way a mutator
    /// can: items and entries stored, replaced and removed, containers cleared, generators advanced,
    /// finalizers given, new objects linked in, and references dropped (freeing what only they held).
    static func mutate(_ heap: Heap, owned: [ObjectRef], seed: UInt64, rounds: Int) throws {
        var random = SeededGenerator(seed: seed)
        var live = owned
        for round in 0..<rounds {
            guard !live.isEmpty else { return }
            let index = Int.random(in: 0..<live.count, using: &random)
            let object = live[index]
            let other = live[Int.random(in: 0..<live.count, using: &random)]
            try heap.gate.shared { () throws(HeapError) in
                switch (heap.kind(of: object), Int.random(in: 0..<4, using: &random)) {
                case (.list, 0): try heap.append(object, other)
                case (.list, 1): if let item = try? heap.pop(object) { heap.release(item) }
                case (.list, 2): try? heap.setItem(object, at: 0, other)
                case (.list, _): try heap.clear(object)
                case (.dict, 0), (.dict, 1): try heap.setItem(object, key: "k\(round % 9)", other)
                case (.dict, 2): try? heap.deleteItem(object, key: "k\(round % 9)")
                case (.dict, _): try heap.clear(object)
                case (.set, 0), (.set, 1):
                    let value = try heap.makeInt(Int64(round % 30))
                    try heap.add(object, value)
                    heap.release(value)
                case (.set, _):
                    let value = try heap.makeInt(Int64(round % 30))
                    try heap.remove(object, value, mustExist: false)
                    heap.release(value)
                case (.object, 0), (.object, 1): try heap.setAttribute(object, "next", other)
                case (.object, 2): try heap.setFinalizer(object, legacy: false)
                case (.generator, _): _ = try? heap.next(object).map { heap.release($0) }
                default:
                    // A new object holding this one, then this reference dropped: the cascade may free.
                    let holder = try heap.makeList([object, other])
                    heap.release(object)
                    live[index] = holder
                }
                if Int.random(in: 0..<8, using: &random) == 0 {
                    heap.release(live.remove(at: index == live.count ? index - 1 : index))
                }
            }
        }
        try heap.gate.shared { () throws(HeapError) in
            for ref in live { heap.release(ref) }
        }
    }

    /// Byte for byte, reporting where two images part (not a dump of both).
    static func assertSame(_ image: [UInt8], _ expected: [UInt8], seed: UInt64, line: UInt = #line) {
        guard image != expected else { return }
        let first =
            zip(image, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(image.count, expected.count)
        XCTFail(
            "seed \(seed): the background image (\(image.count) bytes) differs from the stopped capture's "
                + "(\(expected.count) bytes) from byte \(first)", line: line)
    }

    /// One thread: every mutation between the first stop and the copy of the objects it touches.
    func testMutationsAfterTheStartDoNotReachTheImage() throws {
        for seed in UInt64(1)...12 {
            let heap = HeapImageTests.makeHeap()
            let built = try HeapImageTests.buildRandomHeap(heap, seed: seed, steps: 400)
            let (capture, expected) = begin(heap, built)
            // Half the mutations before the capture copies anything, half while it does (below).
            let owned = Array(built.globals.values) + built.session
            try Self.mutate(heap, owned: Array(owned.prefix(owned.count / 2)), seed: seed, rounds: 600)
            let image = capture.finish()
            Self.assertSame(ImageWriter.bytes(of: image), expected, seed: seed)
            try heap.gate.shared { () throws(HeapError) in
                for ref in owned.dropFirst(owned.count / 2) { heap.release(ref) }
            }
            XCTAssertEqual(heap.withWorldStopped { $0.verify(externalReferences: [:], limit: 5) }, [], "seed \(seed)")
        }
    }

    /// Two mutator threads racing the capturing thread, on a heap big enough that they overlap.
    func testConcurrentMutatorsRaceTheCopy() throws {
        for seed in UInt64(20)...25 {
            let heap = HeapImageTests.makeHeap()
            let built = try HeapImageTests.buildRandomHeap(heap, seed: seed, steps: 3000)
            let (capture, expected) = begin(heap, built)
            let owned = Array(built.globals.values) + built.session
            let halves = [Array(owned.prefix(owned.count / 2)), Array(owned.dropFirst(owned.count / 2))]
            let failures = LockedValue<[String]>([])
            let done = DispatchGroup()
            for (number, part) in halves.enumerated() {
                done.enter()
                Thread.detachNewThread {
                    do {
                        try Self.mutate(heap, owned: part, seed: seed &* 7 &+ UInt64(number), rounds: 4000)
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                    done.leave()
                }
            }
            let image = capture.finish()
            done.wait()
            XCTAssertEqual(failures.withLock { $0 }, [])
            Self.assertSame(ImageWriter.bytes(of: image), expected, seed: seed)
            XCTAssertEqual(heap.withWorldStopped { $0.verify(externalReferences: [:], limit: 5) }, [], "seed \(seed)")
        }
    }

    /// A stop of the world asked for during a capture (a collection, a view) waits for its end; one
    /// capture at a time.
    func testStopsWaitForTheCaptureAndOnlyOneRuns() throws {
        let heap = HeapImageTests.makeHeap()
        let built = try HeapImageTests.buildRandomHeap(heap, seed: 3, steps: 200)
        let (capture, _) = begin(heap, built)
        XCTAssertNil(heap.beginBackgroundCapture { _ in ([:], []) })
        let stopped = LockedValue(false)
        let waiter = DispatchGroup()
        waiter.enter()
        Thread.detachNewThread {
            heap.withWorldStopped { _ in stopped.withLock { $0 = true } }
            waiter.leave()
        }
        usleep(50_000)
        XCTAssertFalse(stopped.withLock { $0 }, "a stop ran while the capture was on")
        _ = capture.finish()
        waiter.wait()
        XCTAssertTrue(stopped.withLock { $0 })
        try heap.gate.shared { () throws(HeapError) in
            for ref in Array(built.globals.values) + built.session { heap.release(ref) }
        }
    }
}
