import Foundation
import HeapdTesting
import XCTest

/// examples/tour.heap must run green against a fresh heapd and show the figures its comments promise.
final class TourTests: HeapctlTestCase {
    func testTourRunsAndShowsTheRefcounts() throws {
        let tour = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/tour.heap").path
        let result = try heapctl("run", "--comments", tour)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        let output = result.stdout

        // The figures the comments explain, in order: 2 for a fresh variable (the call's temporary
        // reference included), 3 with a second name, 3 locals released by SCOPE POP, the cycle's two
        // lists alive after DEL, and found and freed by the cycle collector.
        try assertInOrder(
            output,
            [
                "GETREFCOUNT a\n(integer) 2\n",
                "SET b a\nOK\n", "GETREFCOUNT a\n(integer) 3\n",
                "DEL a\n(integer) 1\n", "objects:0\n",
                "SCOPE POP\n(integer) 3\n", "objects:0\n",
                "DEL x y\n(integer) 2\n", "objects:2\n", "type_list:count=2,",
                "GC COLLECT\n(integer) 2\n", "objects:0\n",
            ])
        XCTAssertTrue(output.contains("# 6. What reference counting cannot free: a cycle"))
    }

    private func assertInOrder(_ text: String, _ parts: [String], line: UInt = #line) throws {
        var rest = text[...]
        for part in parts {
            guard let range = rest.range(of: part) else {
                XCTFail("missing (in order) \(part.debugDescription) in:\n\(text)", line: line)
                return
            }
            rest = rest[range.upperBound...]
        }
    }
}
