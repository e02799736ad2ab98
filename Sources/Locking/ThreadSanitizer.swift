// ThreadSanitizer's annotations, found at run time: present only in a process built with
// `--sanitize thread` (`scripts/test --sanitize thread`), nil in every other.
#if canImport(Glibc)
import Glibc
#endif

/// `__tsan_acquire` and `__tsan_release` (compiler-rt's `tsan_interface.h`), looked up once by name, as the Swift
/// concurrency runtime finds them for its own synchronisation. The runtime links them into a sanitized
/// executable and exports them; nothing else has them, so the lookup costs one `dlsym` per process and each
/// call site a nil test.
@usableFromInline
enum ThreadSanitizer {
    @usableFromInline typealias Annotation = @convention(c) (UnsafeMutableRawPointer?) -> Void

    /// Tells ThreadSanitizer this thread now sees everything done before the last `release` of `address`.
    @usableFromInline static let acquire = annotation("__tsan_acquire")
    /// Tells ThreadSanitizer everything this thread did so far is seen by the next `acquire` of `address`.
    @usableFromInline static let release = annotation("__tsan_release")

    private static func annotation(_ name: String) -> Annotation? {
        #if canImport(Glibc)
        // A null handle is glibc's RTLD_DEFAULT: every object loaded, the executable first.
        return dlsym(nil, name).map { unsafeBitCast($0, to: Annotation.self) }
        #else
        // Elsewhere (Darwin) `Mutex` is an `os_unfair_lock`, which ThreadSanitizer follows by itself.
        return nil
        #endif
    }
}
