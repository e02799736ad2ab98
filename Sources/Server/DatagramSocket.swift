// One UDP socket of the DNS path: bound (with SO_REUSEPORT when several workers share the address),
// read and answered by its worker, and closed only when nothing can send through it any more.
import Glibc
import Locking
import NIOCore

/// A bound UDP socket owned by one `UDPWorker`, which reads and answers through `fd` without a lock.
///
/// Answers that complete on another thread (forwarded queries, on an event loop) go through
/// `send(_:to:)`, which checks and writes under one lock, and `close()` takes the same lock: so no
/// answer is ever written to a closed descriptor, or to whatever a later `open` got the number for.
final class DatagramSocket: Sendable {
    let fd: Int32
    /// Where the socket is bound; the real port when port 0 was asked for.
    let localAddress: SocketAddress
    private let isOpen = Locked(true)

    /// How long a worker's receive waits before it looks at its stop flag again: the bound on shutdown
    /// should the wake-up (`wake()`) be missed.
    static let receiveTimeout = timeval(tv_sec: 0, tv_usec: 250_000)
    static let receiveBufferSize: Int32 = 1 << 20

    /// Opens a UDP socket bound to `address`. `shared` sets SO_REUSEPORT, so the sockets of several
    /// workers can bind one address: the kernel then spreads clients over them by a hash of the
    /// client's address and port, so one client's queries stay on one socket and are answered in order.
    /// No SO_REUSEADDR: on UDP it would let another process's socket share the port and take queries.
    init(binding address: SocketAddress, shared: Bool) throws {
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        do {
            if shared { try Self.setOption(fd, SO_REUSEPORT, 1) }
            // Room for a burst while the worker is off the CPU: the default (208 KiB, a few hundred
            // queries) drops some when the host is busy. Best effort: the kernel caps it at rmem_max.
            _ = try? Self.setOption(fd, SO_RCVBUF, Self.receiveBufferSize)
            var timeout = Self.receiveTimeout
            guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
                throw IOError(errnoCode: errno, reason: "setsockopt(SO_RCVTIMEO)")
            }
            let bound = address.withSockAddr { pointer, length in Glibc.bind(fd, pointer, socklen_t(length)) }
            guard bound == 0 else { throw IOError(errnoCode: errno, reason: "bind(\(address))") }
            localAddress = try Self.localAddress(of: fd)
        } catch {
            Glibc.close(fd)
            throw error
        }
        self.fd = fd
    }

    private static func setOption(_ fd: Int32, _ option: Int32, _ value: Int32) throws {
        var value = value
        guard setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw IOError(errnoCode: errno, reason: "setsockopt(\(option))")
        }
    }

    private static func localAddress(of fd: Int32) throws -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw IOError(errnoCode: errno, reason: "getsockname") }
        return try PeerAddress(storage: storage, length: length).socketAddress()
    }

    /// Sends one datagram to `peer` from another thread than the worker's; does nothing once closed.
    func send(_ bytes: [UInt8], to peer: PeerAddress) {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            peer.withSockAddr { address, length in
                bytes.withUnsafeBytes { _ = sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
            }
        }
    }

    /// Makes a receive that is waiting return now (RCV_SHUTDOWN wakes the waiter), so a stopping worker
    /// need not wait out `receiveTimeout`. Sending still works.
    func wake() {
        isOpen.withLock { isOpen in
            if isOpen { _ = shutdown(fd, Int32(SHUT_RD)) }
        }
    }

    /// Closes the descriptor. Call it only once the worker's thread has ended.
    func close() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            isOpen = false
            Glibc.close(fd)
        }
    }
}
