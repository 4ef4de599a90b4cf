#if canImport(Glibc)
    import Glibc
#endif

/// Which traceback the allocations of the current thread belong to.
///
/// A session sets it before each command when tracing is on; the allocator reads it when it records
/// a block. It is one thread-local word, so the allocation path needs no parameter and tracing off
/// costs nothing here.
public enum TraceContext {
    /// An interned traceback of one tracing run (``AllocationTracer/intern(_:)``).
    public struct Token: Equatable, Sendable {
        let epoch: UInt32
        let index: UInt32

        var word: UInt { UInt(epoch) << 32 | UInt(index) }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "heapd: pthread_key_create failed")
        return key
    }()

    /// Sets the current thread's traceback, or clears it with nil.
    public static func setCurrent(_ token: Token?) {
        // The word is stored plus one, so "none" is the null pointer the key starts with.
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: token.map { $0.word &+ 1 } ?? 0))
    }

    /// The current thread's token, if one was set.
    static var current: Token? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        let word = UInt(bitPattern: pointer) &- 1
        return Token(epoch: UInt32(truncatingIfNeeded: word >> 32), index: UInt32(truncatingIfNeeded: word))
    }
}
