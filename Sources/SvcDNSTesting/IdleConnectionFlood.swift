#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Locking
import Synchronization

/// An attacker for tests: holds `count` TCP connections from `source` that never send a byte, and opens each
/// again as soon as the server closes it (`scripts/attack`'s idle-tcp, small). It runs on its own thread until
/// `stop()`, or until `seconds` have passed.
public final class IdleConnectionFlood: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let counts = Locked((opened: 0, closedByServer: 0))

    public init(port: Int, source: String, count: Int, seconds: Double) throws {
        let (family, address) = try TestClient.socketAddress(host: "127.0.0.1", port: port)
        let deadline = Date().addingTimeInterval(seconds)
        Thread.detachNewThread { [self] in
            var open: [Int32] = []
            defer {
                for fd in open { close(fd) }
                finished.signal()
            }
            while !stopping.load(ordering: .relaxed), Date() < deadline {
                while open.count < count, let fd = Self.connectWithoutWaiting(family, address, from: source) {
                    open.append(fd)
                    counts.withLock { $0.opened += 1 }
                }
                var polled = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                guard poll(&polled, nfds_t(polled.count), 10) > 0 else { continue }
                var byte: UInt8 = 0
                let closed = Set(
                    polled.filter { $0.revents != 0 && recv($0.fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0 }.map(\.fd))
                for fd in closed { close(fd) }
                open.removeAll { closed.contains($0) }
                counts.withLock { $0.closedByServer += closed.count }
            }
        }
    }

    /// Stops, closes every connection, and says how many were opened and how many the server closed. Later
    /// calls return at once.
    @discardableResult
    public func stop() -> (opened: Int, closedByServer: Int) {
        if !stopping.exchange(true, ordering: .relaxed) {
            finished.wait()
        }
        return counts.withLock { $0 }
    }

    /// A non-blocking socket whose handshake has started; nil when none could be made now.
    private static func connectWithoutWaiting(_ family: Int32, _ address: [UInt8], from source: String) -> Int32? {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard (try? TestClient.bind(fd, to: source)) != nil else {
            close(fd)
            return nil
        }
        let result = address.withUnsafeBytes { raw in
            connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        guard result == 0 || errno == EINPROGRESS else {
            close(fd)
            return nil
        }
        return fd
    }
}
