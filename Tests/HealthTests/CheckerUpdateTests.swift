// CheckerUpdateTests: update(catalog:) adding, keeping and removing targets, the cap, and coalesced onChange calls,
// with a scripted prober so that nothing depends on sockets or timing.

import Logging
import NIOCore
import NIOPosix
import ServiceModel
import Testing

@testable import Health

@Suite("HealthChecker updates")
struct CheckerUpdateTests {
    /// Long enough that no endpoint is probed twice during a test: every probe counted is a first probe.
    static let slow = HealthDefaults(interval: .seconds(3600), timeout: .seconds(1), fall: 1, rise: 1)

    static func catalog(_ names: [String]) -> Catalog {
        Fixture.catalog(
            names.enumerated().map { index, name in
                Fixture.service(name, slices: [Fixture.slice(["10.1.0.\(index + 1)"], ports: [("app", 80)])])
            }
        )
    }

    static func ids(_ names: [String]) -> [EndpointID] {
        names.enumerated().map { Fixture.id($1, "10.1.0.\($0 + 1)") }
    }

    @Test func addsKeepsAndRemovesTargets() async throws {
        let prober = ScriptedProber()
        try await withChecker(defaults: Self.slow, prober: prober) { harness in
            let first = Self.ids(["a", "b"])
            harness.checker.update(catalog: Self.catalog(["a", "b"]))
            let upAfter = await eventually(within: .seconds(2)) {
                harness.checker.verdicts.states == [first[0]: .up, first[1]: .up]
            }
            #expect(upAfter != nil, "new targets probed at once, not after the hour-long interval")
            #expect(first.map(prober.probeCount) == [1, 1])

            // "a" keeps its address 10.1.0.1; "b" goes; "c" comes (its address is 10.1.0.2 under another Service).
            let c = Fixture.id("c", "10.1.0.2")
            prober.setResult(.unhealthy(reason: "connection refused"), for: c)
            harness.checker.update(catalog: Self.catalog(["a", "c"]))
            let settled = await eventually(within: .seconds(2)) {
                harness.checker.verdicts.states == [first[0]: .up, c: .down]
            }
            #expect(settled != nil, "b left, c entered and was probed")
            #expect(prober.probeCount(first[0]) == 1, "an unchanged target keeps its schedule")
            #expect(prober.probeCount(c) == 1)
            let transitionsOfA = harness.changes.transitions.filter { $0.endpoint == first[0] }
            #expect(transitionsOfA.count == 1, "a kept its state")

            harness.checker.update(catalog: Catalog())
            let allGone = await eventually(within: .seconds(2)) { harness.checker.verdicts.states.isEmpty }
            #expect(allGone != nil)
            #expect(harness.changes.latest.states.isEmpty)
        }
    }

    @Test func anUpdateOfSomeServicesLeavesTheOthersAlone() async throws {
        let prober = ScriptedProber()
        try await withChecker(defaults: Self.slow, prober: prober) { harness in
            let ids = Self.ids(["a", "b", "c"])
            harness.checker.update(catalog: Self.catalog(["a", "b", "c"]))
            let up = await eventually(within: .seconds(2)) { harness.checker.verdicts.states.count == 3 }
            #expect(up != nil)

            // "b" leaves the catalog and "d" joins; "c" leaves too, but the update names only b and d.
            let d = Fixture.id("d", "10.1.0.2")
            let scope: Set<ObjectKey> = [ids[1].service, d.service]
            harness.checker.update(catalog: Self.catalog(["a", "d"]), changedServices: scope)
            let settled = await eventually(within: .seconds(2)) {
                harness.checker.verdicts.states == [ids[0]: .up, d: .up, ids[2]: .up]
            }
            #expect(settled != nil, "b left, d came, and a and c were not looked at")
            #expect(prober.probeCount(ids[0]) == 1)
            #expect(prober.probeCount(ids[2]) == 1)
        }
    }

    /// Plans are computed on the writers' threads and reach the loop in their own order: a Service keeps the
    /// targets of the newest registry change, whatever comes after it.
    @Test func aPlanOfAnOlderChangeArrivingLastIsIgnored() async throws {
        let prober = ScriptedProber()
        try await withChecker(defaults: Self.slow, prober: prober) { harness in
            let moved = Fixture.catalog([Fixture.service("a", slices: [Fixture.slice(["10.1.0.9"], ports: [("app", 80)])])])
            let key = Fixture.id("a", "10.1.0.9").service
            // Change 2 moved "a" to 10.1.0.9; change 1 (which had it on 10.1.0.1) arrives after it, scoped and whole.
            harness.checker.update(catalog: moved, changedServices: [key], sequence: 2)
            harness.checker.update(catalog: Self.catalog(["a"]), changedServices: [key], sequence: 1)
            harness.checker.update(catalog: Self.catalog(["a"]), sequence: 1)
            let settled = await eventually(within: .seconds(2)) {
                harness.checker.verdicts.states == [Fixture.id("a", "10.1.0.9"): .up]
            }
            #expect(settled != nil, "\(harness.checker.verdicts.states)")
            #expect(prober.probeCount(Fixture.id("a", "10.1.0.1")) == 0)

            // A whole plan of a newer change applies to every Service again.
            harness.checker.update(catalog: Self.catalog(["a", "b"]), sequence: 3)
            let expected = Dictionary(uniqueKeysWithValues: Self.ids(["a", "b"]).map { ($0, EndpointHealth.up) })
            let whole = await eventually(within: .seconds(2)) { harness.checker.verdicts.states == expected }
            #expect(whole != nil, "\(harness.checker.verdicts.states)")
        }
    }

    /// The numbers kept per Service are only needed while an older plan may still arrive: with every change
    /// in, they are dropped, so 10,000 Services written one after another leave a bounded table behind.
    @Test func planNumbersStayBoundedAsServicesComeAndGo() {
        var order = PlanOrder()
        for index in 0..<10_000 {
            let key = ObjectKey(namespace: "churn", name: "svc-\(index)")
            #expect(order.admit(UInt64(index + 1), services: [key]) == [])
        }
        #expect(order.trackedServices <= 2048, "\(order.trackedServices) Services tracked")
        // Out of order still works after pruning: change 10,002 then 10,001 for the same Service.
        let key = ObjectKey(namespace: "churn", name: "late")
        #expect(order.admit(10_002, services: [key]) == [])
        #expect(order.admit(10_001, services: [key]) == nil)
    }

    @Test func changesInOneTickAreOneCall() async throws {
        let prober = ScriptedProber()
        try await withChecker(defaults: Self.slow, prober: prober) { harness in
            let names = (0..<50).map { "svc-\($0)" }
            harness.checker.update(catalog: Self.catalog(names))
            let done = await eventually(within: .seconds(2)) { harness.changes.latest.states.count == 50 }
            #expect(done != nil)
            // The scripted probes answer at once, inside the update's own loop tick: one call carries it all.
            #expect(harness.changes.calls.count == 1)
            #expect(harness.changes.calls.first?.transitions.count == 50)
            #expect(Set(harness.changes.latest.states.values) == [.up])
        }
    }

    @Test func capQueuesProbesBeyondIt() async throws {
        let prober = ScriptedProber(holding: true)
        try await withChecker(defaults: Self.slow, maxConcurrentProbes: 8, prober: prober) { harness in
            defer { prober.releaseAll() }
            let names = (0..<20).map { "held-\($0)" }
            harness.checker.update(catalog: Self.catalog(names))
            let capFilled = await eventually(within: .seconds(2)) {
                prober.heldCount == 8 && harness.changes.latest.states.count == 20
            }
            #expect(capFilled != nil, "8 probes in flight, and all 20 entered the verdicts")
            #expect(Set(harness.changes.latest.states.values) == [.pending])
            #expect(try await harness.checker.probeCounts().inFlight == 8)

            prober.release(3)
            // Each freed slot goes to a queued probe: 8 in flight again, 11 probes started so far.
            let threeMoreStarted = await eventually(within: .seconds(2)) {
                Self.ids(names).map(prober.probeCount).reduce(0, +) == 11
            }
            #expect(threeMoreStarted != nil)
            #expect(prober.heldCount == 8)

            prober.releaseAll()
            let allUp = await eventually(within: .seconds(2)) {
                let states = harness.changes.latest.states
                return states.count == 20 && states.values.allSatisfy { $0 == .up }
            }
            #expect(allUp != nil)
            let counts = try await harness.checker.probeCounts()
            #expect(counts.highWaterMark == 8)
            #expect(counts.inFlight == 0)
        }
    }

    @Test func changedPortKeepsTheVerdictAndProbesAtOnce() async throws {
        let prober = ScriptedProber()
        try await withChecker(defaults: Self.slow, prober: prober) { harness in
            let id = Fixture.id("moving", "10.2.0.1")
            func catalog(port: Int) -> Catalog {
                Fixture.catalog([
                    Fixture.service("moving", slices: [Fixture.slice(["10.2.0.1"], ports: [("app", port)])])
                ])
            }
            harness.checker.update(catalog: catalog(port: 80))
            let upOnPort80 = await eventually(within: .seconds(2)) { harness.checker.verdicts.states[id] == .up }
            #expect(upOnPort80 != nil)

            harness.checker.update(catalog: catalog(port: 8080))
            let probedNewPort = await eventually(within: .seconds(2)) { prober.probedPorts(id) == [80, 8080] }
            #expect(probedNewPort != nil)
            #expect(harness.checker.verdicts.states[id] == .up)
            #expect(harness.changes.transitions.count == 1, "no transition from the port change itself")
        }
    }

    @Test func shorterIntervalTakesEffectAtOnceAfterManyReschedules() async throws {
        let prober = ScriptedProber()
        try await withChecker(defaults: Self.slow, prober: prober) { harness in
            let id = Fixture.id("tuned", "10.4.0.1")
            func catalog(interval: Duration) -> Catalog {
                let overrides = HealthCheckOverrides(interval: interval)
                return Fixture.catalog([
                    Fixture.service(
                        "tuned", healthCheck: overrides, slices: [Fixture.slice(["10.4.0.1"], ports: [("app", 80)])]
                    )
                ])
            }
            harness.checker.update(catalog: catalog(interval: .seconds(3600)))
            let firstProbe = await eventually(within: .seconds(2)) { prober.probeCount(id) == 1 }
            #expect(firstProbe != nil)
            // Each change of interval reschedules and leaves a stale item behind; thousands of them make the
            // timeline drop stale items, which must not drop the endpoint's current one.
            for round in 0..<3000 {
                harness.checker.update(catalog: catalog(interval: .seconds(3600 + Int64(round % 2))))
            }
            harness.checker.update(catalog: catalog(interval: .milliseconds(50)))
            let probedAgain = await eventually(within: .seconds(3)) { prober.probeCount(id) >= 3 }
            #expect(probedAgain != nil, "the 50 ms interval took over from the hour")
        }
    }

    @Test func endpointsWaitAsPendingUntilRunStarts() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let prober = ScriptedProber()
        let changes = ChangeRecorder()
        let checker = HealthChecker(
            defaults: Self.slow, eventLoop: group.next(), maxConcurrentProbes: 4, prober: prober,
            logger: Logger(label: "svcdns.health.test", factory: { _ in SwiftLogNoOpLogHandler() }),
            onChange: { changes.record($0, $1) }
        )
        let id = Self.ids(["early"])[0]
        checker.update(catalog: Self.catalog(["early"]))
        let enteredPending = await eventually(within: .seconds(2)) { checker.verdicts.states[id] == .pending }
        #expect(enteredPending != nil)
        #expect(changes.calls.count == 1)
        #expect(prober.probeCount(id) == 0, "no probe before run()")

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await checker.run() }
            let upOnceRunning = await eventually(within: .seconds(2)) { checker.verdicts.states[id] == .up }
            #expect(upOnceRunning != nil)
            tasks.cancelAll()
            try await tasks.waitForAll()
        }
        // Stopped: later catalogs are ignored.
        checker.update(catalog: Catalog())
        try await group.next().submit {}.get()
        #expect(checker.verdicts.states[id] == .up)
        try await group.shutdownGracefully()
    }
}
