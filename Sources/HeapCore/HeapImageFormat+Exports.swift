// The image format's module is part of HeapCore's vocabulary: the heap's object kinds, size classes
// and block sizes live there (so that `heapctl inspect` reads images without linking the heap), and
// HeapCore's public API speaks of them (`ObjectKind` in listings, `HeapImage` in capture and restore).
// Re-exported, so that every file of HeapCore and every client of it sees them as before the split.
@_exported import HeapImageFormat
