import Synchronization

/// Whether svcdns is ready for traffic (`/readyz`): the registry is loaded before any listener starts, so
/// ready means every DNS listener is bound, and svcdns is not draining (the lameduck period after SIGTERM).
public final class Readiness: Sendable {
    private let listening = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)

    public init() {}

    public func markListening() {
        listening.store(true, ordering: .releasing)
    }

    public func markStopping() {
        listening.store(false, ordering: .releasing)
    }

    /// Not ready from now on, while the listeners go on answering.
    public func markDraining() {
        draining.store(true, ordering: .releasing)
    }

    public var isReady: Bool { listening.load(ordering: .acquiring) && !draining.load(ordering: .acquiring) }
}
