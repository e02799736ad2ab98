// The Linux calls the UDP path needs that Swift's Glibc module leaves out: glibc declares them only
// under _GNU_SOURCE. Each is found once by name in the C library and then called as any C function.
import Glibc

/// `struct mmsghdr` of recvmmsg(2)/sendmmsg(2): one message header and the byte count the kernel fills in.
/// Swift lays it out as C does (a 56-byte `msghdr`, a 4-byte count, padded to a 64-byte stride), which
/// `LinuxCalls.init` checks.
struct MultiMessageHeader {
    var header: msghdr
    var length: UInt32
}

/// Function pointers to the calls, looked up when the first worker starts (a process without UDP
/// workers never looks).
struct LinuxCalls: Sendable {
    // The message vectors are `MultiMessageHeader` arrays, passed untyped: a Swift struct has no C type.
    typealias ReceiveBatch = @convention(c) (Int32, UnsafeMutableRawPointer?, UInt32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias SendBatch = @convention(c) (Int32, UnsafeMutableRawPointer?, UInt32, Int32) -> Int32
    typealias GetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer?) -> Int32
    typealias SetThreadName = @convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32

    /// `recvmmsg(fd, messages, count, flags, timeout)`.
    let receiveBatch: ReceiveBatch
    /// `sendmmsg(fd, messages, count, flags)`.
    let sendBatch: SendBatch
    /// `pthread_setname_np(thread, name)`: names show in `top -H` and `perf`.
    let setThreadName: SetThreadName

    /// Nil when the C library lacks one of them (not glibc 2.14 or later).
    static let shared: LinuxCalls? = {
        precondition(MemoryLayout<MultiMessageHeader>.stride == 64, "struct mmsghdr is 64 bytes on 64-bit Linux")
        guard let receive = dlsym(nil, "recvmmsg"), let send = dlsym(nil, "sendmmsg"),
            let name = dlsym(nil, "pthread_setname_np")
        else { return nil }
        return LinuxCalls(
            receiveBatch: unsafeBitCast(receive, to: ReceiveBatch.self),
            sendBatch: unsafeBitCast(send, to: SendBatch.self),
            setThreadName: unsafeBitCast(name, to: SetThreadName.self)
        )
    }()

    /// How many CPUs this process may run on (`taskset`, cpusets): `sched_getaffinity`, nil when unknown.
    static func allowedCPUs() -> Int? {
        guard let symbol = dlsym(nil, "sched_getaffinity") else { return nil }
        let getAffinity = unsafeBitCast(symbol, to: GetAffinity.self)
        // A cpu_set_t of 1024 CPUs is what glibc's own CPU_COUNT assumes.
        return withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { mask -> Int? in
            mask.initializeMemory(as: UInt8.self, repeating: 0)
            guard getAffinity(0, mask.count, mask.baseAddress) == 0 else { return nil }
            let count = mask.reduce(0) { $0 + $1.nonzeroBitCount }
            return count > 0 ? count : nil
        }
    }
}
