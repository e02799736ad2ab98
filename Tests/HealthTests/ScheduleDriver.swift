// ScheduleDriver: a ProbeSchedule driven by a test, with a clock that moves only when the test says so and a
// record of the probes it asked for.

import NIOCore
import ServiceModel

@testable import Health

/// Feeds a schedule its events at a virtual time and keeps what it asked for: the probes started and not yet
/// finished, every probe ever started, and the probes abandoned.
struct ScheduleDriver {
    var schedule: ProbeSchedule
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let defaults: HealthDefaults
    /// Started and not finished or abandoned, in the order they started.
    private(set) var inFlight: [ProbeSchedule.Probe] = []
    private(set) var started: [ProbeSchedule.Probe] = []
    private(set) var abandoned: [UInt64] = []
    private(set) var unprobeable: [ProbeSchedule.UnprobeableEndpoint] = []

    init(defaults: HealthDefaults, maxConcurrentProbes: Int = 256, start: Bool = true) {
        self.defaults = defaults
        schedule = ProbeSchedule(maxConcurrentProbes: maxConcurrentProbes, seed: 42)
        if start {
            record(schedule.start(now: now))
        }
    }

    mutating func start() {
        record(schedule.start(now: now))
    }

    mutating func update(_ catalog: Catalog, services: Set<ObjectKey>? = nil, sequence: UInt64? = nil) {
        let plan = ProbePlan.targets(for: catalog, defaults: defaults, services: services)
        record(
            schedule.update(plan.targets, unprobeable: plan.unprobeable, services: services, sequence: sequence, now: now)
        )
    }

    /// Moves the clock on by `step` and wakes the schedule.
    mutating func advance(by step: TimeAmount) {
        now = now + step
        record(schedule.wake(now: now))
    }

    /// Finishes the oldest probe in flight of `id` (any endpoint when nil) with `result`; false when there is none.
    @discardableResult
    mutating func finish(_ id: EndpointID? = nil, _ result: ProbeResult = .healthy) -> Bool {
        guard let index = inFlight.firstIndex(where: { id == nil || $0.target.endpoint == id }) else { return false }
        let probe = inFlight.remove(at: index)
        record(schedule.finish(probe.serial, result, now: now))
        return true
    }

    /// Finishes every probe in flight, and those their results start, until none is left (at most `limit`).
    mutating func finishAll(_ result: (EndpointID) -> ProbeResult = { _ in .healthy }, limit: Int = 100_000) {
        var finished = 0
        while let probe = inFlight.first, finished < limit {
            inFlight.removeFirst()
            record(schedule.finish(probe.serial, result(probe.target.endpoint), now: now))
            finished += 1
        }
    }

    func probeCount(_ id: EndpointID) -> Int {
        started.filter { $0.target.endpoint == id }.count
    }

    var states: [EndpointID: EndpointHealth] {
        Dictionary(uniqueKeysWithValues: schedule.statuses().map { ($0.endpoint, $0.state) })
    }

    mutating func takeChanges() -> ProbeSchedule.Changes? {
        schedule.takeChanges()
    }

    private mutating func record(_ actions: ProbeSchedule.Actions) {
        abandoned += actions.abandon
        inFlight.removeAll { actions.abandon.contains($0.serial) }
        inFlight += actions.start
        started += actions.start
        unprobeable += actions.unprobeable
    }
}
