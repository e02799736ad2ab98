// ProbeScheduler: the checker's loop-bound state — targets, their schedule and rise/fall, the concurrency cap, and
// the verdicts it hands on through one coalesced callback per loop tick.

import CoreMetrics
import Foundation
import Logging
import NIOCore
import ServiceModel

/// Everything `HealthChecker` mutates, confined to one event loop the way a channel handler is: every method runs
/// on `eventLoop`, the timer and probe completions come back to it, and nothing here takes a lock.
///
/// Each target is in one phase at a time: not started (before `start()`), waiting in the timeline for its next
/// probe (one timer serves them all, see ``DueHeap``), queued for a free probe slot, or probing. So the queue
/// never holds more than one live entry per target, and at most `maxConcurrentProbes` probes are ever in flight.
final class ProbeScheduler {
    private enum Phase {
        case notStarted
        /// Waiting in `timeline` under this ticket.
        case waiting(UInt64)
        case queued
        /// The serial number of the probe in flight; a completion with another serial is stale.
        case probing(UInt64)
    }

    private struct Entry {
        var target: ProbeTarget
        var machine: HealthStateMachine
        var phase: Phase
        var lastResult: ProbeResult? = nil
        var lastProbe: Date? = nil
    }

    private enum Lifecycle {
        case notStarted, running, stopped
    }

    private let eventLoop: any EventLoop
    private let maxConcurrentProbes: Int
    private let prober: any Prober
    private let logger: Logger
    private let probesSucceeded = Counter(label: "svcdns_health_probes_total", dimensions: [("result", "success")])
    private let probesFailed = Counter(label: "svcdns_health_probes_total", dimensions: [("result", "failure")])
    private let wentUp = Counter(label: "svcdns_health_transitions_total", dimensions: [("state", "up")])
    private let wentDown = Counter(label: "svcdns_health_transitions_total", dimensions: [("state", "down")])
    /// Called on the loop with the verdicts and the transitions since the last call.
    private let publish: (HealthVerdicts, [HealthTransition]) -> Void

    private var lifecycle = Lifecycle.notStarted
    private var entries: [EndpointID: Entry] = [:]
    private var queue = ProbeQueue()
    private var timeline = DueHeap()
    private var lastTicket: UInt64 = 0
    /// The one timer, due when `timeline`'s soonest item is.
    private var wakeup: (due: NIODeadline, task: Scheduled<Void>)?
    /// The jitter's random source: a seeded generator, because the system one makes a system call per draw.
    private var random = JitterGenerator(seed: UInt64.random(in: .min ... .max))
    /// The timer never fires sooner than this after it last fired: with thousands of jittered endpoints each
    /// due at its own moment, waking for every one would cost a thread wake-up per probe. Probes due within
    /// one tick start together instead, at most this late.
    static let tick: TimeAmount = .milliseconds(10)
    private var inFlight: [UInt64: (cancellation: ProbeCancellation, result: EventLoopFuture<Void>)] = [:]
    private var lastSerial: UInt64 = 0
    /// True while `drain()` runs: a probe that completes synchronously must not start a nested drain, which
    /// would recurse once per queued target.
    private var draining = false
    private var verdicts = HealthVerdicts()
    private var transitions: [HealthTransition] = []
    private var flushScheduled = false
    private var unprobeable: Set<EndpointID> = []
    private var planOrder = PlanOrder()

    /// The most probes ever in flight at once (for tests of the cap).
    private(set) var highWaterMark = 0
    /// Probes in flight now.
    var inFlightCount: Int { inFlight.count }
    /// Between `start()` and `stop()`.
    var isRunning: Bool { lifecycle == .running }

    init(
        eventLoop: any EventLoop, maxConcurrentProbes: Int, prober: any Prober, logger: Logger,
        publish: @escaping (HealthVerdicts, [HealthTransition]) -> Void
    ) {
        self.eventLoop = eventLoop
        self.maxConcurrentProbes = max(1, maxConcurrentProbes)
        self.prober = prober
        self.logger = logger
        self.publish = publish
    }

    /// Starts probing: every known target is probed at once (as far as the cap allows), then on its own schedule.
    func start() {
        guard case .notStarted = lifecycle else { return }
        lifecycle = .running
        for (id, entry) in entries.sorted(by: { $0.key < $1.key }) {
            if case .notStarted = entry.phase {
                enqueue(id)
            }
        }
        drain()
    }

    /// Stops every timer and closes every probe in flight; completes when the last probe has finished.
    /// Later updates are ignored.
    func stop() -> EventLoopFuture<Void> {
        lifecycle = .stopped
        wakeup?.task.cancel()
        wakeup = nil
        entries.removeAll()
        queue.removeAll()
        timeline.removeAll()
        let results = inFlight.values.map(\.result)
        for probe in inFlight.values {
            probe.cancellation.cancel()
        }
        return EventLoopFuture.andAllComplete(results, on: eventLoop)
    }

    /// Replaces the targets (of `services` only, when given: the targets of other Services stay as they are).
    /// New ones enter the verdicts as pending and are probed at once (once started); removed ones stop and leave
    /// the verdicts; unchanged ones keep their state and schedule.
    ///
    /// `sequence` is the number of the registry change the plan was computed from: a Service whose targets came
    /// from a newer change keeps them (plans arrive in the order their writers got here, not the registry's).
    func update(
        _ targets: [ProbeTarget], unprobeable newUnprobeable: [(EndpointID, String)], services: Set<ObjectKey>? = nil,
        sequence: UInt64? = nil
    ) {
        guard lifecycle != .stopped else { return }
        guard let newer = planOrder.admit(sequence, services: services) else { return }
        let inScope = { (service: ObjectKey) in (services?.contains(service) ?? true) && !newer.contains(service) }
        let targets = newer.isEmpty ? targets : targets.filter { inScope($0.endpoint.service) }
        logUnprobeable(newUnprobeable.filter { inScope($0.0.service) }, inScope: inScope)
        let incoming = Dictionary(targets.map { ($0.endpoint, $0) }, uniquingKeysWith: { _, last in last })

        let removed = entries.keys.filter { id in
            incoming[id] == nil && inScope(id.service)
        }
        for id in removed {
            switch entries[id]!.phase {
            case .probing(let serial):
                // Its completion finds no entry and is dropped; closing now frees the slot sooner.
                inFlight[serial]?.cancellation.cancel()
            case .notStarted, .waiting, .queued:
                // An id left behind in the queue or the timeline is skipped when it comes up: cheaper than
                // searching for it now.
                break
            }
            entries[id] = nil
            verdicts.states[id] = nil
            markDirty()
        }

        // In the plan's order, so that first probes go out in a stable order; a duplicate id meets itself unchanged.
        for planned in targets {
            let id = planned.endpoint
            let target = incoming[id]!
            guard var entry = entries[id] else {
                entries[id] = Entry(
                    target: target, machine: HealthStateMachine(fall: target.fall, rise: target.rise),
                    phase: .notStarted
                )
                verdicts.states[id] = .pending
                markDirty()
                if lifecycle == .running {
                    enqueue(id)
                }
                continue
            }
            guard entry.target != target else { continue }
            let old = entry.target
            entry.target = target
            entry.machine.reconfigure(fall: target.fall, rise: target.rise)
            let probedChanged = old.port != target.port || old.kind != target.kind
            if probedChanged {
                // The runs so far were about another port or kind; the verdict stands until the new one is probed,
                // which happens at once, so that an annotation edit does not blank a Service in DNS.
                entry.machine.resetRuns()
            }
            if case .waiting = entry.phase, probedChanged || old.interval != target.interval {
                if probedChanged {
                    entry.phase = .queued
                    queue.append(id)
                } else {
                    // Without this, an interval shortened from 1h to 1s would take effect only after the hour.
                    entry.phase = .waiting(scheduleNext(id, interval: target.interval))
                }
            }
            entries[id] = entry
        }
        drain()
    }

    private func enqueue(_ id: EndpointID) {
        entries[id]?.phase = .queued
        queue.append(id)
    }

    /// Starts queued probes while slots are free.
    private func drain() {
        guard lifecycle == .running, !draining else { return }
        draining = true
        defer { draining = false }
        while inFlight.count < maxConcurrentProbes, let id = queue.popFirst() {
            guard let entry = entries[id], case .queued = entry.phase else { continue }
            startProbe(id, entry.target)
        }
    }

    private func startProbe(_ id: EndpointID, _ target: ProbeTarget) {
        lastSerial += 1
        let serial = lastSerial
        entries[id]?.phase = .probing(serial)
        let cancellation = ProbeCancellation()
        let done = eventLoop.makePromise(of: Void.self)
        inFlight[serial] = (cancellation, done.futureResult)
        highWaterMark = max(highWaterMark, inFlight.count)
        // The completion is registered after the bookkeeping above: a prober may complete synchronously.
        prober.probe(target, on: eventLoop, cancellation: cancellation)
            .hop(to: eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                let probeResult: ProbeResult
                switch result {
                case .success(let value): probeResult = value
                case .failure(let error): probeResult = .unhealthy(reason: "\(error)")
                }
                self.finish(serial, id, target, probeResult)
                done.succeed()
            }
    }

    private func finish(_ serial: UInt64, _ id: EndpointID, _ probed: ProbeTarget, _ result: ProbeResult) {
        inFlight[serial] = nil
        defer { drain() }
        guard lifecycle == .running, var entry = entries[id], case .probing(serial) = entry.phase else { return }
        guard probed.port == entry.target.port, probed.kind == entry.target.kind else {
            // What is probed changed while this probe ran, so its result is about the old port: probe again.
            entries[id]?.phase = .queued
            queue.append(id)
            return
        }
        let before = entry.machine.state
        entry.lastResult = result
        entry.lastProbe = Date()
        switch result {
        case .healthy: probesSucceeded.increment()
        case .unhealthy: probesFailed.increment()
        }
        if let after = entry.machine.record(result) {
            switch after {
            case .up: wentUp.increment()
            case .down: wentDown.increment()
            case .pending: break
            }
            let reason: String
            switch result {
            case .healthy: reason = "probe succeeded"
            case .unhealthy(let failure): reason = failure
            }
            let transition = HealthTransition(endpoint: id, port: probed.port, from: before, to: after, reason: reason)
            verdicts.states[id] = after
            transitions.append(transition)
            log(transition)
            markDirty()
        }
        entry.phase = .waiting(scheduleNext(id, interval: entry.target.interval))
        entries[id] = entry
    }

    /// Every probed endpoint's state and last probe, ordered by endpoint.
    func statuses() -> [EndpointStatus] {
        entries.map { id, entry in
            let result: String? = entry.lastResult.map { result in
                switch result {
                case .healthy: "probe succeeded"
                case .unhealthy(let reason): reason
                }
            }
            return EndpointStatus(
                endpoint: id, port: entry.target.port, state: entry.machine.state, lastResult: result, lastProbe: entry.lastProbe
            )
        }.sorted { $0.endpoint < $1.endpoint }
    }

    /// Puts the endpoint in the timeline, due after a jittered interval; returns the ticket it waits under.
    private func scheduleNext(_ id: EndpointID, interval: Duration) -> UInt64 {
        // Stale items (removed or rescheduled endpoints) leave when due; this bounds them if that is far off. It runs
        // before the push: the caller records the new ticket only after this returns, so the new item would look
        // stale.
        if timeline.count > 2 * entries.count + 1024 {
            timeline.removeAll { !isCurrent($0) }
        }
        lastTicket += 1
        let due = NIODeadline.now() + Self.jittered(interval, using: &random)
        timeline.push(DueHeap.Item(due: due, id: id, ticket: lastTicket))
        arm(due)
        return lastTicket
    }

    private func isCurrent(_ item: DueHeap.Item) -> Bool {
        guard case .waiting(let ticket) = entries[item.id]?.phase else { return false }
        return ticket == item.ticket
    }

    /// Makes sure the timer fires by `due`.
    private func arm(_ due: NIODeadline) {
        if let wakeup {
            guard due < wakeup.due else { return }
            wakeup.task.cancel()
        }
        let task = eventLoop.assumeIsolated().scheduleTask(deadline: due) {
            self.wake()
        }
        wakeup = (due, task)
    }

    /// Queues every endpoint now due, starts what the cap allows, and sets the timer for the next one.
    private func wake() {
        wakeup = nil
        guard lifecycle == .running else { return }
        let now = NIODeadline.now()
        while let first = timeline.first, first.due <= now {
            _ = timeline.popFirst()
            if isCurrent(first) {
                enqueue(first.id)
            }
        }
        drain()
        if let next = timeline.first {
            arm(max(next.due, now + Self.tick))
        }
    }

    /// `interval` ± up to 10%: endpoints registered together would otherwise be probed together forever, in bursts
    /// that the endpoints, the cap and the loop all feel.
    ///
    /// In whole nanoseconds, never through `Double`: an interval near `Int64.max` nanoseconds converted back from
    /// a `Double` traps. Validation keeps intervals within an hour; the clamp here keeps this function total anyway.
    static func jittered(_ interval: Duration, using random: inout some RandomNumberGenerator) -> TimeAmount {
        let nanoseconds = min(max(TimeAmount(interval).nanoseconds, 0), maxInterval.nanoseconds)
        let spread = nanoseconds / 10
        return .nanoseconds(nanoseconds + Int64.random(in: -spread...spread, using: &random))
    }

    /// The longest interval the schedule uses, whatever it is given: a day (validation allows an hour).
    static let maxInterval: TimeAmount = .hours(24)

    static func jittered(_ interval: Duration) -> TimeAmount {
        var random = SystemRandomNumberGenerator()
        return jittered(interval, using: &random)
    }

    /// Publishes once per loop tick however many verdicts changed in it, so that a thousand endpoints going down
    /// together cause one snapshot build, not a thousand.
    private func markDirty() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.assumeIsolated().execute {
            self.flush()
        }
    }

    private func flush() {
        flushScheduled = false
        let batch = transitions
        transitions = []
        publish(verdicts, batch)
    }

    private func log(_ transition: HealthTransition) {
        logger.info(
            "endpoint health changed",
            metadata: [
                "health.service": "\(transition.endpoint.service)",
                "health.address": "\(transition.endpoint.address)",
                "health.port": "\(transition.port)",
                "health.state": "\(transition.to.rawValue)",
                "health.reason": "\(transition.reason)",
            ]
        )
    }

    /// Logs each endpoint that cannot be probed once, when it first appears so, not at every catalog change.
    /// `list` is complete for the Services `inScope` accepts; the others keep what was known of them.
    private func logUnprobeable(_ list: [(EndpointID, String)], inScope: (ObjectKey) -> Bool) {
        var now: Set<EndpointID> = unprobeable.filter { !inScope($0.service) }
        for (id, reason) in list {
            now.insert(id)
            if !unprobeable.contains(id) {
                logger.debug(
                    "endpoint not probed",
                    metadata: [
                        "health.service": "\(id.service)", "health.address": "\(id.address)",
                        "health.reason": "\(reason)",
                    ]
                )
            }
        }
        unprobeable = now
    }
}

@available(*, unavailable)
extension ProbeScheduler: Sendable {}

/// The endpoints waiting for a probe slot: first in, first out within each Service, and Services served in turn,
/// one probe each, so that a Service of thousands of endpoints that time out cannot hold every slot while another
/// Service's new endpoint waits behind all of them for its first probe. Both ends are O(1) amortised.
private struct ProbeQueue {
    /// Per Service with endpoints waiting, its queue.
    private var waiting: [ObjectKey: FIFO<EndpointID>] = [:]
    /// The Services with endpoints waiting, in the order they are served.
    private var turns = FIFO<ObjectKey>()

    mutating func append(_ id: EndpointID) {
        let wasIdle = waiting[id.service] == nil
        waiting[id.service, default: FIFO()].append(id)
        if wasIdle {
            turns.append(id.service)
        }
    }

    mutating func popFirst() -> EndpointID? {
        guard let service = turns.popFirst() else { return nil }
        // In place (a copy of a Service's queue per probe would make each pop linear).
        guard let id = waiting[service, default: FIFO()].popFirst() else {
            waiting[service] = nil
            return popFirst()
        }
        if waiting[service]?.isEmpty ?? true {
            waiting[service] = nil
        } else {
            turns.append(service)
        }
        return id
    }

    mutating func removeAll() {
        waiting.removeAll()
        turns = FIFO()
    }
}

/// A first-in, first-out queue: an array and a head index, compacted when the consumed prefix is most of it.
private struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head >= items.count }

    mutating func append(_ item: Element) {
        items.append(item)
    }

    mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head >= 1024, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}

/// SplitMix64: a fast, well-spread generator, good enough for spreading probe times.
struct JitterGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
