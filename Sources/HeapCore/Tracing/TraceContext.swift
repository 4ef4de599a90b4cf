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

    static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "heapd: pthread_key_create failed")
        return key
    }()

    /// Sets the current thread's traceback, or clears it with nil.
    public static func setCurrent(_ token: Token?) {
        // The word is stored plus one, so "none" is the null pointer the key starts with.
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: token.map { $0.word &+ 1 } ?? 0))
    }

    /// The current thread's token as one word (0: none), read with ``key`` (which the tracer keeps,
    /// so the allocation path skips the lazy global's check); decoded by ``traceback(of:epoch:)``.
    @inline(__always)
    static func word(key: pthread_key_t) -> UInt {
        UInt(bitPattern: pthread_getspecific(key))
    }

    /// The traceback index of a ``word(key:)``, if it is a token of the run `epoch`.
    @inline(__always)
    static func traceback(of word: UInt, epoch: UInt32) -> UInt32? {
        guard word != 0, UInt32(truncatingIfNeeded: (word &- 1) >> 32) == epoch else { return nil }
        return UInt32(truncatingIfNeeded: word &- 1)
    }
}
