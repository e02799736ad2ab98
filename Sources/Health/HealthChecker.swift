// HealthChecker: Catalog in, verdicts out — probes every endpoint on its own event loop, off the DNS path.

import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import ServiceModel

/// Probes the endpoints of the catalog on its own event loop, off the DNS path, and reports each change of
/// verdict. A `Service` (swift-service-lifecycle).
///
/// Probing starts when `run()` does and stops when it returns. `update(catalog:)` may come before: its endpoints
/// enter the verdicts as `.pending` at once and are first probed as soon as `run()` starts.
///
/// All mutable state lives on `eventLoop`, like a channel handler's; the public methods hop to it, so they are safe
/// from any thread. Use a loop that serves no DNS traffic, so that probing cannot delay answers.
public final class HealthChecker: ServiceLifecycle.Service, Sendable {
    private let defaults: HealthDefaults
    private let eventLoop: any EventLoop
    private let scheduler: NIOLoopBoundBox<ProbeScheduler>
    /// The verdicts as last published: a copy readable from any thread without a hop to the loop.
    private let published: NIOLockedValueBox<HealthVerdicts>

    /// Creates a checker that probes nothing until `update(catalog:)` gives it endpoints and `run()` starts it.
    ///
    /// - Parameters:
    ///   - defaults: the server-wide settings, which a Service's annotations override.
    ///   - eventLoop: the loop that runs every timer and probe.
    ///   - maxConcurrentProbes: the most probes in flight at once; probes that fall due beyond it wait for a slot.
    ///   - logger: each transition is logged once at info (`endpoint health changed`).
    ///   - onChange: called on `eventLoop` with all verdicts and the transitions that led to them, once per loop
    ///     tick with changes (new endpoints entering as pending and removed ones leaving count as changes, with no
    ///     transition). Keep it short: hand the verdicts on and return.
    public convenience init(
        defaults: HealthDefaults,
        eventLoop: any EventLoop,
        maxConcurrentProbes: Int = 256,
        logger: Logger,
        onChange: @escaping @Sendable (HealthVerdicts, [HealthTransition]) -> Void
    ) {
        self.init(
            defaults: defaults, eventLoop: eventLoop, maxConcurrentProbes: maxConcurrentProbes, prober: NetworkProber(),
            logger: logger, onChange: onChange
        )
    }

    /// The same, with the prober replaced (tests drive the schedule with a prober that needs no sockets).
    init(
        defaults: HealthDefaults,
        eventLoop: any EventLoop,
        maxConcurrentProbes: Int,
        prober: any Prober,
        logger: Logger,
        onChange: @escaping @Sendable (HealthVerdicts, [HealthTransition]) -> Void
    ) {
        self.defaults = defaults
        self.eventLoop = eventLoop
        let published = NIOLockedValueBox(HealthVerdicts())
        self.published = published
        let scheduler = ProbeScheduler(
            eventLoop: eventLoop, maxConcurrentProbes: maxConcurrentProbes, prober: prober, logger: logger,
            publish: { verdicts, transitions in
                published.withLockedValue { $0 = verdicts }
                onChange(verdicts, transitions)
            }
        )
        self.scheduler = NIOLoopBoundBox.makeBoxSendingValue(scheduler, as: ProbeScheduler.self, eventLoop: eventLoop)
    }

    /// Replaces the set of endpoints to probe; call whenever the catalog changes. Safe from any thread; the plan is
    /// computed on the caller's thread and applied on the loop, in call order for calls from one thread.
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
        let plan = ProbePlan.targets(for: catalog, defaults: defaults, services: changedServices)
        let scheduler = self.scheduler
        eventLoop.execute {
            scheduler.value.update(plan.targets, unprobeable: plan.unprobeable, services: changedServices, sequence: sequence)
        }
    }

    /// Every probed endpoint with its state and last probe (read on the checker's loop).
    public func statuses() async -> [EndpointStatus] {
        let scheduler = self.scheduler
        return (try? await eventLoop.submit { scheduler.value.statuses() }.get()) ?? []
    }

    /// The verdicts as last published to `onChange` (a copy).
    public var verdicts: HealthVerdicts {
        published.withLockedValue { $0 }
    }

    /// Probes until graceful shutdown (or cancellation), then stops every timer and in-flight probe, and returns
    /// once the last probe's connection is closed. Later updates are ignored.
    public func run() async throws {
        let scheduler = self.scheduler
        eventLoop.execute {
            scheduler.value.start()
        }
        // Cancellation ends the wait as graceful shutdown does: either way the checker stops cleanly.
        try? await gracefulShutdown()
        try await eventLoop.flatSubmit {
            scheduler.value.stop()
        }.get()
    }

    /// Whether `run()` has started probing, the probes in flight now, and the most ever in flight at once
    /// (a seam for tests).
    func probeCounts() async throws -> (isRunning: Bool, inFlight: Int, highWaterMark: Int) {
        let scheduler = self.scheduler
        return try await eventLoop.submit {
            (scheduler.value.isRunning, scheduler.value.inFlightCount, scheduler.value.highWaterMark)
        }.get()
    }
}
