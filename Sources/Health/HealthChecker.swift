// HealthChecker: Catalog in, verdicts out: probes every endpoint on a thread of its own, off the DNS path.

import Locking
import Logging
import ServiceLifecycle
import ServiceModel

/// Probes the endpoints of the catalog on its own thread (``ProbeLoop``), off the DNS path, and reports each change
/// of verdict. A `Service` (swift-service-lifecycle).
///
/// Probing starts when `run()` does and stops when it returns. `update(catalog:)` may come before: its endpoints
/// enter the verdicts as `.pending` at once and are first probed as soon as `run()` starts.
///
/// All mutable state belongs to the probe loop's thread; the public methods post to it, so they are safe from any
/// thread.
public final class HealthChecker: ServiceLifecycle.Service, Sendable {
    private let defaults: HealthDefaults
    private let loop: ProbeLoop
    /// Services left out of DNS are not probed either.
    private let exposure: Exposure
    /// The verdicts as last published: a copy readable from any thread without asking the loop.
    private let published: Locked<HealthVerdicts>

    /// Creates a checker that probes nothing until `update(catalog:)` gives it endpoints and `run()` starts it.
    ///
    /// - Parameters:
    ///   - defaults: the server-wide settings, which a Service's annotations override.
    ///   - exposure: the Services served; only their endpoints are probed.
    ///   - maxConcurrentProbes: the most probes in flight at once; probes that fall due beyond it wait for a slot.
    ///   - logger: each transition is logged once at info (`endpoint health changed`).
    ///   - onChange: called on the probe thread with all verdicts and the transitions that led to them, at most
    ///     once per pass of its loop (new endpoints entering as pending and removed ones leaving count as
    ///     changes, with no transition). Keep it short: hand the verdicts on and return.
    /// - Throws: when the probe loop's epoll or eventfd cannot be had (no descriptors left).
    public init(
        defaults: HealthDefaults,
        exposure: Exposure = .everything,
        maxConcurrentProbes: Int = 256,
        logger: Logger,
        onChange: @escaping @Sendable (HealthVerdicts, [HealthTransition]) -> Void
    ) throws {
        self.defaults = defaults
        self.exposure = exposure
        let published = Locked(HealthVerdicts())
        self.published = published
        loop = try ProbeLoop(maxConcurrentProbes: maxConcurrentProbes, logger: logger) { changes in
            published.withLock { $0 = changes.verdicts }
            onChange(changes.verdicts, changes.transitions)
        }
    }

    deinit {
        // A checker that never ran still has its thread; one that ran has ended it, and this is refused.
        loop.post(.stop(done: {}))
    }

    /// Replaces the set of endpoints to probe; call whenever the catalog changes. Safe from any thread; the plan is
    /// computed on the caller's thread and applied on the probe thread, in call order for calls from one thread.
    ///
    /// New endpoints are probed at once, not at the next tick, so a registration is visible within milliseconds;
    /// removed ones stop and leave the verdicts; unchanged ones keep their state and schedule. An endpoint whose
    /// probed port or kind changed keeps its verdict and is probed again at once.
    ///
    /// `changedServices` limits the work to the Services a change touched (nil: all of them); the plan of a
    /// large catalog takes long enough to matter on every API write.
    ///
    /// `sequence` is the registry's number of the change: calls from several threads reach the loop in any
    /// order, and a Service keeps the targets of the newest change that set it, not of the last call.
    public func update(catalog: Catalog, changedServices: Set<ObjectKey>? = nil, sequence: UInt64? = nil) {
        let plan = ProbePlan.targets(for: catalog, defaults: defaults, services: changedServices, admitting: exposure)
        loop.post(.update(plan.targets, unprobeable: plan.unprobeable, services: changedServices, sequence: sequence))
    }

    /// Every probed endpoint with its state and last probe; empty once the checker has stopped.
    public func statuses() async -> [EndpointStatus] {
        await withCheckedContinuation { continuation in
            if !loop.post(.statuses({ continuation.resume(returning: $0) })) {
                continuation.resume(returning: [])
            }
        }
    }

    /// The verdicts as last published to `onChange` (a copy).
    public var verdicts: HealthVerdicts {
        published.withLock { $0 }
    }

    /// Probes until graceful shutdown (or cancellation), then abandons every probe in flight, and returns once
    /// the last probe's socket is closed and the probe thread has ended. Later updates are ignored.
    public func run() async throws {
        loop.post(.start)
        // Cancellation ends the wait as graceful shutdown does: either way the checker stops cleanly.
        try? await gracefulShutdown()
        await withCheckedContinuation { continuation in
            if !loop.post(.stop(done: { continuation.resume() })) {
                continuation.resume()
            }
        }
    }

    /// Whether `run()` has started probing, the probes in flight now, and the most ever in flight at once
    /// (a seam for tests).
    func probeCounts() async -> ProbeCounts {
        await withCheckedContinuation { continuation in
            if !loop.post(.counts({ continuation.resume(returning: $0) })) {
                continuation.resume(returning: ProbeCounts(isRunning: false, inFlight: 0, highWaterMark: 0))
            }
        }
    }
}
