import NIOCore
import Locking
import Synchronization

/// Caps open TCP connections (RFC 7766 §6.2.2: a server may limit them to protect itself). At the cap a new
/// connection is still taken, and an open connection that has been quiet long is closed to make room
/// (RFC 7766 §6.2.3 lets a server close idle connections when it needs their resources). Refusing newcomers
/// instead let anyone who held `limit` idle connections, opening each again as it was closed, keep every other
/// client off TCP for as long as they liked (`scripts/attack`'s idle-tcp did so with the default cap).
/// Shared by every accept loop; locked once per connection opened or closed, never per query.
final class ConnectionLimiter: Sendable {
    let limit: Int
    /// Connections looked at to choose the one to close: the quietest of a random sample, as an approximate
    /// LRU does. Scanning all of them at the cap of 4,096 cost as much CPU as the accept itself, under an
    /// attacker reconnecting thousands of times a second; the quietest of 32 is quieter than all but about
    /// 3% of them, and a connection that has just moved is chosen only if the other 31 moved later still.
    static let sampleSize = 32
    private let open = Locked(OpenConnections())

    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    /// Takes a new connection; returns the connection to close to make room for it when the cap is reached,
    /// already no longer counted.
    func admit(_ connection: TCPConnectionActivity) -> TCPConnectionActivity? {
        open.withLock { open in
            var quietest: TCPConnectionActivity? = nil
            if open.count >= limit {
                quietest = open.quietest(ofSample: Self.sampleSize)
                if let quietest { open.remove(quietest) }
            }
            open.insert(connection)
            return quietest
        }
    }

    /// The connection has closed (a closed connection already chosen to make room is not counted twice).
    func release(_ connection: TCPConnectionActivity) {
        open.withLock { $0.remove(connection) }
    }

    /// Connections counted now.
    var count: Int { open.withLock { $0.count } }
}

/// The open connections in an array, for sampling at random, with each one's place in it, for removing in
/// constant time (the last one moves into the hole).
private struct OpenConnections {
    private var connections: [TCPConnectionActivity] = []
    private var places: [ObjectIdentifier: Int] = [:]

    var count: Int { connections.count }

    mutating func insert(_ connection: TCPConnectionActivity) {
        guard places[ObjectIdentifier(connection)] == nil else { return }
        places[ObjectIdentifier(connection)] = connections.count
        connections.append(connection)
    }

    mutating func remove(_ connection: TCPConnectionActivity) {
        guard let place = places.removeValue(forKey: ObjectIdentifier(connection)) else { return }
        let last = connections.removeLast()
        if place < connections.count {
            connections[place] = last
            places[ObjectIdentifier(last)] = place
        }
    }

    /// The connection quiet the longest among `sampleSize` chosen at random, or among all when there are no more.
    func quietest(ofSample sampleSize: Int) -> TCPConnectionActivity? {
        let everyOne = connections.count <= sampleSize
        var quietest: TCPConnectionActivity? = nil
        for look in 0..<min(sampleSize, connections.count) {
            let candidate = everyOne ? connections[look] : connections[Int.random(in: connections.indices)]
            if let current = quietest, current.lastActive <= candidate.lastActive { continue }
            quietest = candidate
        }
        return quietest
    }
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
