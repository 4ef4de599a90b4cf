import Foundation
import HeapdTesting
import XCTest

/// heapctl's boundary (issue 11 item 5): it speaks the protocol to heapd and reads images with
/// HeapImageFormat, and never links HeapCore, the heap itself. A dependency added back in
/// Package.swift, or a module that pulls HeapCore in, shows in the binary's symbols.
final class LinkBoundaryTests: XCTestCase {
    func testHeapctlLinksTheImageFormatButNotHeapCore() throws {
        let nm = try XCTUnwrap(BuildProducts.onPath("nm"), "nm (binutils) is needed to read heapctl's symbols")
        let result = try ChildProcess.run(nm, ["--defined-only", BuildProducts.heapctl], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        let symbols = result.stdout.split(separator: "\n")
        // Swift mangles a module's name as its length and the name: `8HeapCore`, `15HeapImageFormat`.
        // The modules heapctl does link show, so an empty or stripped listing cannot pass for a clean one.
        XCTAssertTrue(symbols.contains { $0.contains("15HeapImageFormat") }, "no HeapImageFormat symbol in heapctl")
        XCTAssertTrue(symbols.contains { $0.contains("10HeapClient") }, "no HeapClient symbol in heapctl")
        let heapCore = symbols.filter { $0.contains("8HeapCore") }
        XCTAssertEqual(heapCore.count, 0, "heapctl links HeapCore: \(heapCore.prefix(5).joined(separator: "\n"))")
    }
}
