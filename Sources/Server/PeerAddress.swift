// A datagram's sender as the kernel wrote it: kept raw on the query path, turned into an NIO
// `SocketAddress` only where something needs one (binding, logs, tests).
import Glibc
import NIOCore

/// A socket address in its C form, copied out of a receive batch when an answer is sent later
/// (forwarded queries). A plain value: no allocation, unlike building an NIO `SocketAddress`.
struct PeerAddress: Sendable {
    var storage: sockaddr_storage
    var length: socklen_t

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// CoreDNS's `family` label: true counts the query as IPv6.
    var isIPv6: Bool { storage.ss_family == sa_family_t(AF_INET6) }

    /// The same for a socket address still in a receive batch.
    static func isIPv6(_ sockaddr: UnsafeRawPointer) -> Bool {
        sockaddr.load(as: sa_family_t.self) == sa_family_t(AF_INET6)
    }

    func withSockAddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
        try withUnsafePointer(to: storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// The NIO form (allocates: off the query path only).
    func socketAddress() throws -> SocketAddress {
        try withUnsafePointer(to: storage) { pointer in
            switch Int32(storage.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee) }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee) }
            default:
                throw IOError(errnoCode: EAFNOSUPPORT, reason: "not an IP socket address")
            }
        }
    }
}
