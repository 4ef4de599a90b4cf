// heapctl's entry point. Parsing and dispatch live in Heapctl.swift, everything else in files named after
// the one thing each does.
if HeapctlReference.handles(Array(CommandLine.arguments.dropFirst())) {
    HeapctlReference.main()
} else {
    Heapctl.main()
}
