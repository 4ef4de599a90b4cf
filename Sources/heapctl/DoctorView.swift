import ArgumentParser
import Foundation

/// `heapctl doctor`: heapd's `DOCTOR` report, as plain lines.
struct DoctorView: LeakView {
    static let configuration = CommandConfiguration(
        commandName: "heapctl doctor",
        abstract: "A plain-language report on what keeps memory alive that should not be.",
        discussion: """
            Like Redis's MEMORY DOCTOR: cyclic garbage waiting for a collection and the cycles that hold it, \
            legacy finalizers in cycles, gc.garbage's uncollectable objects, automatic collection turned off \
            while garbage waits, and globals that alone keep a large part of the heap alive; or an all-clear.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var viewOutput: ViewOutputOptions

    func show(using client: ViewClient) throws(ViewFailure) {
        let reply = try client.call(["DOCTOR"])
        guard let text = reply.text else { throw ViewClient.unexpected("DOCTOR", reply) }
        guard client.json else { return Console.write(text.hasSuffix("\n") ? text : text + "\n") }
        // The report's findings are its " * " paragraphs (with their indented detail lines); none is
        // the all-clear.
        var findings: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(" * ") {
                findings.append(String(line.dropFirst(3)))
            } else if line.hasPrefix("   "), !findings.isEmpty {
                findings[findings.count - 1] += "\n" + line.trimmingCharacters(in: .whitespaces)
            }
        }
        Console.write(
            JSONValue.object([
                ("clear", .bool(findings.isEmpty)), ("findings", .array(findings.map { .string($0) })),
                ("report", .string(text)),
            ]).text + "\n")
    }
}
