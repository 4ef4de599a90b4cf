import ArgumentParser

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

    func show(using client: ViewClient) throws(ViewFailure) {
        let reply = try client.call(["DOCTOR"])
        guard let text = reply.text else { throw ViewClient.unexpected("DOCTOR", reply) }
        Console.write(text.hasSuffix("\n") ? text : text + "\n")
    }
}
