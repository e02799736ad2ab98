import Locking
import NIOCore

/// Which upstreams answered lately. A failed upstream is skipped for `retryAfter`, then tried again;
/// the first answer from it brings it back. When every upstream is marked failed, all are tried anyway:
/// skipping them all would turn a blip into SERVFAIL for everyone.
final class UpstreamHealth: Sendable {
    private let failedUntil: Locked<[Upstream: NIODeadline]>
    private let retryAfter: TimeAmount

    init(retryAfter: TimeAmount = .seconds(5)) {
        self.retryAfter = retryAfter
        failedUntil = Locked([:])
    }

    /// The upstreams to try, in order: the ones not marked failed first, in configured order.
    func order(_ upstreams: [Upstream], now: NIODeadline = .now()) -> [Upstream] {
        let failed = failedUntil.withLock { $0 }
        let usable = upstreams.filter { (failed[$0] ?? .distantPast) <= now }
        let skipped = upstreams.filter { (failed[$0] ?? .distantPast) > now }
        return usable + skipped
    }

    func recordSuccess(_ upstream: Upstream) {
        failedUntil.withLock { _ = $0.removeValue(forKey: upstream) }
    }

    func recordFailure(_ upstream: Upstream, now: NIODeadline = .now()) {
        failedUntil.withLock { $0[upstream] = now + retryAfter }
    }

    func isFailed(_ upstream: Upstream, now: NIODeadline = .now()) -> Bool {
        failedUntil.withLock { ($0[upstream] ?? .distantPast) > now }
    }
}
