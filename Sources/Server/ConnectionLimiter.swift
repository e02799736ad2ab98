import NIOCore
import Synchronization

/// Caps open TCP connections (RFC 7766 §6.2.2: a server may limit them to protect itself). At the cap a new
/// connection is still taken, and the open connection that has been quiet the longest is closed to make room
/// (RFC 7766 §6.2.3 lets a server close idle connections when it needs their resources). Refusing newcomers
/// instead let anyone who held `limit` idle connections, opening each again as it was closed, keep every other
/// client off TCP for as long as they liked (`scripts/attack`'s idle-tcp did so with the default cap).
/// Shared by every accept loop; locked once per connection opened or closed, never per query.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Mutex<[ObjectIdentifier: TCPConnectionActivity]>([:])

    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    /// Takes a new connection; returns the connection to close to make room for it when the cap is reached,
    /// already no longer counted. Finding it is a scan of every open connection, done only at the cap, where
    /// it costs about as much as the accept did.
    func admit(_ connection: TCPConnectionActivity) -> TCPConnectionActivity? {
        open.withLock { open in
            var quietest: TCPConnectionActivity? = nil
            if open.count >= limit {
                var oldest = UInt64.max
                for candidate in open.values {
                    let lastActive = candidate.lastActive
                    if lastActive < oldest {
                        oldest = lastActive
                        quietest = candidate
                    }
                }
                if let quietest { open[ObjectIdentifier(quietest)] = nil }
            }
            open[ObjectIdentifier(connection)] = connection
            return quietest
        }
    }

    /// The connection has closed (a closed connection already chosen to make room is not counted twice).
    func release(_ connection: TCPConnectionActivity) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Connections counted now.
    var count: Int { open.withLock { $0.count } }
}

/// When one TCP connection last moved (bytes read, or an answer written), so that `ConnectionLimiter` can find
/// the one quiet the longest. Written by the connection's event loop, read by whichever loop accepts at the cap.
package final class TCPConnectionActivity: Sendable {
    let channel: any Channel
    private let lastActiveNanoseconds: Atomic<UInt64>

    init(channel: any Channel) {
        self.channel = channel
        self.lastActiveNanoseconds = Atomic(NIODeadline.now().uptimeNanoseconds)
    }

    /// Something moved now.
    func touch() {
        lastActiveNanoseconds.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// When something last moved (monotonic nanoseconds).
    var lastActive: UInt64 { lastActiveNanoseconds.load(ordering: .relaxed) }
}
