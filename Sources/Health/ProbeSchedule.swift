// ProbeSchedule: which endpoint to probe when, as a value with no clock, no sockets and no threads. Events go in
// (a new plan, time passing, a probe's result) and the probes to start or abandon come out, as SwiftNIO's state
// machines return actions for their channel handlers to perform.

import Foundation
import NIOCore
import ServiceModel

/// The checker's schedule: targets, their rise/fall, when each is next due, the cap on probes in flight, fair
/// turns between Services, and the verdicts with the transitions not yet handed on.
///
/// Each target is in one phase at a time: not started (before `start`), waiting in the timeline for its next
/// probe, queued for a free probe slot, or probing. So the queue never holds more than one live entry per target,
/// and at most `maxConcurrentProbes` probes are ever in flight. Time is whatever the caller says it is.
struct ProbeSchedule {
    /// One probe to start: its number (to match the result) and what to probe.
    struct Probe: Hashable, Sendable {
        var serial: UInt64
        var target: ProbeTarget
    }

    /// What the caller must do after an event.
    struct Actions: Equatable {
        /// Probes to start now, in order.
        var start: [Probe] = []
        /// Probes in flight to abandon (close their sockets); their results, if any come, are ignored.
        var abandon: [UInt64] = []
        /// Endpoints that cannot be probed, each reported the first time it appears so.
        var unprobeable: [UnprobeableEndpoint] = []
    }

    /// An endpoint no probe can reach, and why.
    struct UnprobeableEndpoint: Equatable {
        var endpoint: EndpointID
        var reason: String
    }

    /// The verdicts and the transitions since they were last taken (`takeChanges`).
    struct Changes: Equatable {
        var verdicts: HealthVerdicts
        var transitions: [HealthTransition]
    }

    private enum Phase {
        case notStarted
        /// Waiting in `timeline` under this ticket.
        case waiting(UInt64)
        case queued
        /// The serial number of the probe in flight; a result with another serial is stale.
        case probing(UInt64)
    }

    private struct Entry {
        var target: ProbeTarget
        var machine: HealthStateMachine
        var phase: Phase
        var lastResult: ProbeResult? = nil
        var lastProbe: Date? = nil
        /// When the probe in flight started.
        var issuedAt: NIODeadline? = nil
        /// The successful probes' round-trip time, smoothed as TCP smooths its RTT (7/8 old, 1/8 new).
        var smoothedRoundTrip: TimeAmount? = nil
    }

    /// A Service weighted by latency: its probed endpoints, and when its weights may be worked out next.
    private struct LatencyGroup {
        var members: Set<EndpointID> = []
        var nextRecompute: NIODeadline? = nil
    }

    private enum Lifecycle {
        case notStarted, running, stopped
    }

    /// The timer never fires sooner than this after it last fired: with thousands of jittered endpoints each due
    /// at its own moment, waking for every one would cost a wake-up per probe. Probes due within one tick start
    /// together instead, at most this late.
    static let tick: TimeAmount = .milliseconds(10)
    /// The longest interval the schedule uses, whatever it is given: a day (validation allows an hour).
    static let maxInterval: TimeAmount = .hours(24)

    let maxConcurrentProbes: Int
    private var lifecycle = Lifecycle.notStarted
    private var entries: [EndpointID: Entry] = [:]
    private var queue = ProbeQueue()
    private var timeline = DueHeap<EndpointID>()
    private var lastTicket: UInt64 = 0
    /// Probes in flight, by serial, with what each probes.
    private var inFlight: [UInt64: ProbeTarget] = [:]
    private var lastSerial: UInt64 = 0
    private var lastWake: NIODeadline? = nil
    /// The jitter's random source: a seeded generator, because the system one makes a system call per draw.
    private var random: JitterGenerator
    private var verdicts = HealthVerdicts()
    private var transitions: [HealthTransition] = []
    private var changed = false
    private var unprobeable: Set<EndpointID> = []
    private var planOrder = PlanOrder()
    private var latencyGroups: [ObjectKey: LatencyGroup] = [:]

    /// The most probes ever in flight at once.
    private(set) var highWaterMark = 0
    /// Probes in flight now.
    var inFlightCount: Int { inFlight.count }
    /// Between `start` and `stop`.
    var isRunning: Bool { lifecycle == .running }

    init(maxConcurrentProbes: Int, seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.maxConcurrentProbes = max(1, maxConcurrentProbes)
        random = JitterGenerator(seed: seed)
    }

    /// When the caller must call `wake` next, if nothing else happens first; nil when nothing is scheduled.
    var nextWakeup: NIODeadline? {
        guard lifecycle == .running, let due = timeline.first?.due else { return nil }
        guard let lastWake else { return due }
        return max(due, lastWake + Self.tick)
    }

    /// Starts probing: every known target at once (as far as the cap allows), then each on its own schedule.
    mutating func start(now: NIODeadline) -> Actions {
        guard case .notStarted = lifecycle else { return Actions() }
        lifecycle = .running
        for (id, entry) in entries.sorted(by: { $0.key < $1.key }) {
            if case .notStarted = entry.phase {
                enqueue(id)
            }
        }
        return drain(now: now)
    }

    /// Forgets every target and abandons every probe in flight. Later events do nothing.
    mutating func stop() -> Actions {
        lifecycle = .stopped
        entries.removeAll()
        queue.removeAll()
        timeline.removeAll()
        let abandoned = inFlight.keys.sorted()
        inFlight.removeAll()
        return Actions(abandon: abandoned)
    }

    /// Replaces the targets (of `services` only, when given: the targets of other Services stay as they are).
    /// New ones enter the verdicts as pending and are probed at once (once started); removed ones stop and leave
    /// the verdicts; unchanged ones keep their state and schedule. An endpoint whose probed port or kind changed
    /// keeps its verdict and is probed again at once.
    ///
    /// `sequence` is the number of the registry change the plan was computed from: a Service whose targets came
    /// from a newer change keeps them (plans arrive in the order their writers got here, not the registry's).
    mutating func update(
        _ targets: [ProbeTarget], unprobeable newUnprobeable: [(EndpointID, String)], services: Set<ObjectKey>? = nil,
        sequence: UInt64? = nil, now: NIODeadline
    ) -> Actions {
        guard lifecycle != .stopped else { return Actions() }
        guard let newer = planOrder.admit(sequence, services: services) else { return Actions() }
        let inScope = { (service: ObjectKey) in (services?.contains(service) ?? true) && !newer.contains(service) }
        let targets = newer.isEmpty ? targets : targets.filter { inScope($0.endpoint.service) }
        var actions = Actions()
        actions.unprobeable = noteUnprobeable(newUnprobeable.filter { inScope($0.0.service) }, inScope: inScope)
        let incoming = Dictionary(targets.map { ($0.endpoint, $0) }, uniquingKeysWith: { _, last in last })

        let removed = entries.keys.filter { id in incoming[id] == nil && inScope(id.service) }
        for id in removed.sorted() {
            if case .probing(let serial) = entries[id]!.phase {
                // Abandoning it now frees the slot at once; its result, should one come, finds no entry.
                inFlight[serial] = nil
                actions.abandon.append(serial)
            }
            // An id left behind in the queue or the timeline is skipped when it comes up: cheaper than searching.
            entries[id] = nil
            verdicts.states[id] = nil
            leaveLatencyGroup(id)
            changed = true
        }

        // In the plan's order, so that first probes go out in a stable order; a duplicate id meets itself unchanged.
        for planned in targets {
            let id = planned.endpoint
            let target = incoming[id]!
            if target.weighsByLatency {
                latencyGroups[id.service, default: LatencyGroup()].members.insert(id)
            } else {
                leaveLatencyGroup(id)
            }
            guard var entry = entries[id] else {
                entries[id] = Entry(
                    target: target, machine: HealthStateMachine(fall: target.fall, rise: target.rise), phase: .notStarted
                )
                verdicts.states[id] = .pending
                changed = true
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
                    entry.phase = .waiting(scheduleNext(id, interval: target.interval, now: now))
                }
            }
            entries[id] = entry
        }
        let started = drain(now: now)
        actions.start = started.start
        return actions
    }

    /// Time has come to `now`: queues every endpoint due by then and starts what the cap allows.
    mutating func wake(now: NIODeadline) -> Actions {
        guard lifecycle == .running else { return Actions() }
        lastWake = now
        while let first = timeline.first, first.due <= now {
            _ = timeline.popFirst()
            if isCurrent(first) {
                enqueue(first.id)
            }
        }
        return drain(now: now)
    }

    /// The result of probe `serial`: feeds the endpoint's rise/fall, schedules its next probe, and starts queued
    /// probes in the freed slot. `wallClock` is the time `/status/endpoints` shows for it.
    mutating func finish(_ serial: UInt64, _ result: ProbeResult, now: NIODeadline, wallClock: Date = Date()) -> Actions {
        guard let probed = inFlight.removeValue(forKey: serial) else { return Actions() }
        let id = probed.endpoint
        guard lifecycle == .running, var entry = entries[id], case .probing(serial) = entry.phase else { return drain(now: now) }
        guard probed.port == entry.target.port, probed.kind == entry.target.kind else {
            // What is probed changed while this probe ran, so its result is about the old port: probe again.
            enqueue(id)
            return drain(now: now)
        }
        let before = entry.machine.state
        entry.lastResult = result
        entry.lastProbe = wallClock
        if case .healthy = result, let issuedAt = entry.issuedAt {
            let sample = now - issuedAt
            entry.smoothedRoundTrip = entry.smoothedRoundTrip.map { .nanoseconds(($0.nanoseconds * 7 + sample.nanoseconds) / 8) } ?? sample
        }
        if let after = entry.machine.record(result) {
            let reason: String
            switch result {
            case .healthy: reason = "probe succeeded"
            case .unhealthy(let failure): reason = failure
            }
            transitions.append(
                HealthTransition(endpoint: id, port: entry.target.port, from: before, to: after, reason: reason)
            )
            verdicts.states[id] = after
            changed = true
        }
        entry.phase = .waiting(scheduleNext(id, interval: entry.target.interval, now: now))
        entries[id] = entry
        if entry.target.weighsByLatency {
            reweigh(id.service, interval: entry.target.interval, now: now)
        }
        return drain(now: now)
    }

    /// Works out the latency weights of `service`'s endpoints, at most once per probe interval: the fastest up
    /// endpoint (by smoothed round trip) weighs 100, each other 100 × fastest / its own, at least 1; an endpoint
    /// not up, or never answered, weighs 1 (and is not served anyway).
    private mutating func reweigh(_ service: ObjectKey, interval: Duration, now: NIODeadline) {
        guard var group = latencyGroups[service] else { return }
        if let next = group.nextRecompute, now < next { return }
        group.nextRecompute = now + TimeAmount(interval)
        latencyGroups[service] = group
        let times = group.members.compactMap { id -> (EndpointID, Int64)? in
            guard let entry = entries[id], entry.machine.state == .up, let time = entry.smoothedRoundTrip else { return nil }
            return (id, max(time.nanoseconds, 1))
        }
        guard let fastest = times.map(\.1).min() else { return }
        for (id, time) in times {
            let weight = Self.latencyWeight(fastest: fastest, own: time)
            if verdicts.latencyWeights[id] != weight {
                verdicts.latencyWeights[id] = weight
                changed = true
            }
        }
    }

    /// 100 × fastest / own, rounded, within 1–100.
    static func latencyWeight(fastest: Int64, own: Int64) -> Int {
        let weight = (Double(fastest) / Double(own) * 100).rounded()
        return weight.isFinite ? min(100, max(1, Int(weight))) : 1
    }

    private mutating func leaveLatencyGroup(_ id: EndpointID) {
        if verdicts.latencyWeights.removeValue(forKey: id) != nil { changed = true }
        guard var group = latencyGroups[id.service], group.members.remove(id) != nil else { return }
        latencyGroups[id.service] = group.members.isEmpty ? nil : group
    }

    /// The verdicts and the transitions since the last call, when anything changed; else nil. Taking them once
    /// per batch of events hands on a thousand endpoints going down together as one change, not a thousand.
    mutating func takeChanges() -> Changes? {
        guard changed else { return nil }
        changed = false
        defer { transitions = [] }
        return Changes(verdicts: verdicts, transitions: transitions)
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
                endpoint: id, port: entry.target.port, state: entry.machine.state, lastResult: result,
                lastProbe: entry.lastProbe, roundTripMicroseconds: entry.smoothedRoundTrip.map { $0.nanoseconds / 1000 },
                latencyWeight: verdicts.latencyWeights[id]
            )
        }.sorted { $0.endpoint < $1.endpoint }
    }

    private mutating func enqueue(_ id: EndpointID) {
        entries[id]?.phase = .queued
        queue.append(id)
    }

    /// Starts queued probes while slots are free.
    private mutating func drain(now: NIODeadline) -> Actions {
        var actions = Actions()
        guard lifecycle == .running else { return actions }
        while inFlight.count < maxConcurrentProbes, let id = queue.popFirst() {
            guard let entry = entries[id], case .queued = entry.phase else { continue }
            lastSerial += 1
            entries[id]?.phase = .probing(lastSerial)
            entries[id]?.issuedAt = now
            inFlight[lastSerial] = entry.target
            highWaterMark = max(highWaterMark, inFlight.count)
            actions.start.append(Probe(serial: lastSerial, target: entry.target))
        }
        return actions
    }

    /// Puts the endpoint in the timeline, due after a jittered interval; returns the ticket it waits under.
    private mutating func scheduleNext(_ id: EndpointID, interval: Duration, now: NIODeadline) -> UInt64 {
        // Stale items (removed or rescheduled endpoints) leave when due; this bounds them if that is far off. It runs
        // before the push: the caller records the new ticket only after this returns, so the new item would look
        // stale.
        if timeline.count > 2 * entries.count + 1024 {
            let entries = self.entries
            timeline.removeAll { item in
                guard case .waiting(let ticket) = entries[item.id]?.phase else { return true }
                return ticket != item.ticket
            }
        }
        lastTicket += 1
        timeline.push(DueHeap.Item(due: now + Self.jittered(interval, using: &random), id: id, ticket: lastTicket))
        return lastTicket
    }

    private func isCurrent(_ item: DueHeap<EndpointID>.Item) -> Bool {
        guard case .waiting(let ticket) = entries[item.id]?.phase else { return false }
        return ticket == item.ticket
    }

    /// Keeps the endpoints that cannot be probed; returns those that were not known so before. `list` is complete
    /// for the Services `inScope` accepts; the others keep what was known of them.
    private mutating func noteUnprobeable(
        _ list: [(EndpointID, String)], inScope: (ObjectKey) -> Bool
    ) -> [UnprobeableEndpoint] {
        var now: Set<EndpointID> = unprobeable.filter { !inScope($0.service) }
        var new: [UnprobeableEndpoint] = []
        for (id, reason) in list {
            now.insert(id)
            if !unprobeable.contains(id) {
                new.append(UnprobeableEndpoint(endpoint: id, reason: reason))
            }
        }
        unprobeable = now
        return new
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

    static func jittered(_ interval: Duration) -> TimeAmount {
        var random = SystemRandomNumberGenerator()
        return jittered(interval, using: &random)
    }
}

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
        while let service = turns.popFirst() {
            // In place (a copy of a Service's queue per probe would make each pop linear).
            guard let id = waiting[service, default: FIFO()].popFirst() else {
                waiting[service] = nil
                continue
            }
            if waiting[service]?.isEmpty ?? true {
                waiting[service] = nil
            } else {
                turns.append(service)
            }
            return id
        }
        return nil
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
