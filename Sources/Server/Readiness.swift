import Synchronization

/// Whether svcdns is ready for traffic (`/readyz`): the registry is loaded before any listener starts, so
/// ready means every DNS listener is bound.
public final class Readiness: Sendable {
    private let listening = Atomic<Bool>(false)

    public init() {}

    public func markListening() {
        listening.store(true, ordering: .releasing)
    }

    public func markStopping() {
        listening.store(false, ordering: .releasing)
    }

    public var isReady: Bool { listening.load(ordering: .acquiring) }
}
