import Synchronization

/// Caps open TCP connections (RFC 7766 §6.2.2: a server may limit them to protect itself). Shared by
/// every accept loop; touched once per connection, never per query.
final class ConnectionLimiter: Sendable {
    private let open = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot; false when all are taken.
    func acquire() -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        if now > limit {
            open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }
}
