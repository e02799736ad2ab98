import Dispatch
import Locking
import Testing

/// `Locked` is a mutex to ThreadSanitizer too. Four threads take one lock in turn 100,000 times each and change a
/// plain (non-atomic) counter under it: the lock is contended, so `Synchronization.Mutex` alone hands it over in
/// the kernel, unseen, and `scripts/test --sanitize thread` reports every increment as a data race. With
/// `Locked`'s announcements it reports nothing, while a race outside the lock is still reported.
@Suite struct LockedTests {
    /// A class, as the state svcdns shares is: its field is a plain memory location, not a copy per thread.
    final class Counter {
        var value = 0
    }

    @Test func aContendedLockOrdersEveryAccess() {
        let counter = Locked(Counter())
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<100_000 {
                counter.withLock { $0.value += 1 }
            }
        }
        #expect(counter.withLock { $0.value } == 400_000)
    }

    @Test func aThrowingBodyReleasesTheLock() {
        struct Refused: Error {}
        let locked = Locked([Int]())
        #expect(throws: Refused.self) {
            try locked.withLock { (values: inout [Int]) throws(Refused) in
                values.append(1)
                throw Refused()
            }
        }
        #expect(locked.withLock { $0 } == [1])
    }
}
