// A value behind a lock: the one lock type of svcdns's modules, a `Synchronization.Mutex` that ThreadSanitizer
// can follow. Hands its callers exclusive access to the value.
import Synchronization

/// A value that threads share, read and changed only inside `withLock`.
///
/// `Synchronization.Mutex` is the lock: it lives inline and its uncontended path is one compare-and-swap. On
/// Linux a contended lock is handed over by the kernel (`FUTEX_LOCK_PI`, in the uninstrumented
/// `libswiftSynchronization`), so ThreadSanitizer never sees the hand-over and reports every access made under
/// a contended lock as a data race. This type tells it, announcing an acquire of the lock after taking it and a
/// release before giving it up (`ThreadSanitizer`): the happens-before edge a mutex makes, no more. Outside a
/// ThreadSanitizer build the announcements are a test of a constant nil.
///
/// A class, so that its address names the lock for ThreadSanitizer; make one per shared state and keep it.
/// Inlinable, so each caller gets `withLock` specialized for its value as it did `Mutex`'s.
public final class Locked<Value>: @unchecked Sendable {
    @usableFromInline let mutex: Mutex<Value>

    @inlinable
    public init(_ initialValue: consuming sending Value) {
        mutex = Mutex(initialValue)
    }

    /// Runs `body` with the value, holding the lock; the same contract as `Mutex.withLock`.
    @inlinable
    public func withLock<Result, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        let lock = Unmanaged.passUnretained(self).toOpaque()
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            ThreadSanitizer.acquire?(lock)
            defer { ThreadSanitizer.release?(lock) }
            return try body(&value)
        }
    }
}
