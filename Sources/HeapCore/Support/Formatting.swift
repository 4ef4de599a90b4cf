// The textual forms heapd shares with heapctl (byte counts, Python's tracemalloc sizes and lines, source
// positions) live in the HeapFormatting module, so that heapctl needs no HeapCore. HeapCore re-exports
// it: its clients (the server's INFO and DOCTOR, the tests) keep finding `formatBytes` and `formatSize`
// where they did.
@_exported import HeapFormatting
