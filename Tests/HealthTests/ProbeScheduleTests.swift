// ProbeScheduleTests: the schedule as a value, with no sockets and no clock of its own: which probes start when,
// the cap, fair turns between Services, plans arriving out of order, and the jitter.

import NIOCore
import ServiceModel
import Testing

@testable import Health

@Suite("Probe schedule")
struct ProbeScheduleTests {
    /// Long enough that no endpoint is probed twice unless a test moves the clock an hour.
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

    @Test func addsKeepsAndRemovesTargets() {
        var driver = ScheduleDriver(defaults: Self.slow)
        let first = Self.ids(["a", "b"])
        driver.update(Self.catalog(["a", "b"]))
        #expect(driver.inFlight.map(\.target.endpoint) == first, "new targets probed at once, not after the interval")
        #expect(driver.states == [first[0]: .pending, first[1]: .pending])
        driver.finishAll()
        #expect(driver.states == [first[0]: .up, first[1]: .up])

        // "a" keeps 10.1.0.1; "b" goes; "c" comes (its address is 10.1.0.2 under another Service).
        let c = Fixture.id("c", "10.1.0.2")
        driver.update(Self.catalog(["a", "c"]))
        #expect(driver.inFlight.map(\.target.endpoint) == [c], "only the new target is probed")
        driver.finish(c, .unhealthy(reason: "connection refused"))
        #expect(driver.states == [first[0]: .up, c: .down])
        #expect(driver.probeCount(first[0]) == 1, "an unchanged target keeps its schedule")

        driver.update(Catalog())
        #expect(driver.states.isEmpty)
        let changes = driver.takeChanges()
        #expect(changes?.verdicts.states.isEmpty == true)
    }

    @Test func aRemovedEndpointsProbeIsAbandonedAndItsSlotFreed() {
        var driver = ScheduleDriver(defaults: Self.slow, maxConcurrentProbes: 1)
        driver.update(Self.catalog(["a", "b"]))
        let probeOfA = try! #require(driver.inFlight.first)
        #expect(driver.inFlight.count == 1, "b waits for the one slot")
        driver.update(Fixture.catalog([Fixture.service("b", slices: [Fixture.slice(["10.1.0.2"], ports: [("app", 80)])])]))
        #expect(driver.abandoned == [probeOfA.serial])
        #expect(driver.inFlight.map(\.target.endpoint) == [Fixture.id("b", "10.1.0.2")], "b took the freed slot")
        // A result for the abandoned probe changes nothing.
        _ = driver.schedule.finish(probeOfA.serial, .healthy, now: driver.now)
        #expect(driver.states == [Fixture.id("b", "10.1.0.2"): .pending])
    }

    @Test func anUpdateOfSomeServicesLeavesTheOthersAlone() {
        var driver = ScheduleDriver(defaults: Self.slow)
        let ids = Self.ids(["a", "b", "c"])
        driver.update(Self.catalog(["a", "b", "c"]))
        driver.finishAll()

        // "b" leaves the catalog and "d" joins; "c" leaves too, but the update names only b and d.
        let d = Fixture.id("d", "10.1.0.2")
        driver.update(Self.catalog(["a", "d"]), services: [ids[1].service, d.service])
        driver.finishAll()
        #expect(driver.states == [ids[0]: .up, d: .up, ids[2]: .up], "b left, d came, a and c were not looked at")
        #expect(driver.probeCount(ids[0]) == 1)
        #expect(driver.probeCount(ids[2]) == 1)
    }

    /// Plans are computed on the writers' threads and reach the loop in their own order: a Service keeps the
    /// targets of the newest registry change, whatever comes after it.
    @Test func aPlanOfAnOlderChangeArrivingLastIsIgnored() {
        var driver = ScheduleDriver(defaults: Self.slow)
        let moved = Fixture.catalog([Fixture.service("a", slices: [Fixture.slice(["10.1.0.9"], ports: [("app", 80)])])])
        let key = Fixture.key("a")
        // Change 2 moved "a" to 10.1.0.9; change 1 (which had it on 10.1.0.1) arrives after it, scoped and whole.
        driver.update(moved, services: [key], sequence: 2)
        driver.update(Self.catalog(["a"]), services: [key], sequence: 1)
        driver.update(Self.catalog(["a"]), sequence: 1)
        driver.finishAll()
        #expect(driver.states == [Fixture.id("a", "10.1.0.9"): .up])
        #expect(driver.probeCount(Fixture.id("a", "10.1.0.1")) == 0)

        // A whole plan of a newer change applies to every Service again.
        driver.update(Self.catalog(["a", "b"]), sequence: 3)
        driver.finishAll()
        #expect(driver.states == Dictionary(uniqueKeysWithValues: Self.ids(["a", "b"]).map { ($0, EndpointHealth.up) }))
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

    @Test func changesUntilTakenAreHandedOnTogether() {
        var driver = ScheduleDriver(defaults: Self.slow)
        let names = (0..<50).map { "svc-\($0)" }
        driver.update(Self.catalog(names))
        driver.finishAll()
        let taken = driver.takeChanges()
        let changes = try! #require(taken)
        #expect(changes.transitions.count == 50)
        #expect(changes.transitions.allSatisfy { $0.from == .pending && $0.to == .up && $0.reason == "probe succeeded" })
        #expect(Set(changes.verdicts.states.values) == [.up])
        let again = driver.takeChanges()
        #expect(again == nil, "nothing new since")
    }

    @Test func capQueuesProbesBeyondIt() {
        var driver = ScheduleDriver(defaults: Self.slow, maxConcurrentProbes: 8)
        let names = (0..<20).map { "held-\($0)" }
        driver.update(Self.catalog(names))
        #expect(driver.inFlight.count == 8)
        #expect(driver.states.count == 20)
        #expect(Set(driver.states.values) == [.pending])

        for _ in 0..<3 { driver.finish() }
        // Each freed slot goes to a queued probe: 8 in flight again, 11 started so far.
        #expect(driver.inFlight.count == 8)
        #expect(driver.started.count == 11)
        driver.finishAll()
        #expect(driver.states.values.allSatisfy { $0 == .up })
        #expect(driver.schedule.highWaterMark == 8)
        #expect(driver.schedule.inFlightCount == 0)
    }

    @Test func changedPortKeepsTheVerdictAndProbesAtOnce() {
        var driver = ScheduleDriver(defaults: Self.slow)
        let id = Fixture.id("moving", "10.2.0.1")
        func catalog(port: Int) -> Catalog {
            Fixture.catalog([Fixture.service("moving", slices: [Fixture.slice(["10.2.0.1"], ports: [("app", port)])])])
        }
        driver.update(catalog(port: 80))
        driver.finishAll()
        driver.update(catalog(port: 8080))
        #expect(driver.started.map(\.target.port) == [80, 8080], "probed again at once, on the new port")
        #expect(driver.states[id] == .up, "the verdict stands meanwhile")
        driver.finishAll()
        let changes = driver.takeChanges()
        #expect(changes?.transitions.count == 1, "no transition from the port change itself")
    }

    @Test func aResultAboutTheOldPortIsNotCountedAndTheNewPortIsProbed() {
        var driver = ScheduleDriver(defaults: Self.slow)
        let id = Fixture.id("moving", "10.2.0.1")
        func catalog(port: Int) -> Catalog {
            Fixture.catalog([Fixture.service("moving", slices: [Fixture.slice(["10.2.0.1"], ports: [("app", port)])])])
        }
        driver.update(catalog(port: 80))
        driver.update(catalog(port: 8080))  // while the probe of port 80 is in flight
        driver.finish(id, .unhealthy(reason: "connection refused"))
        #expect(driver.states[id] == .pending, "a refusal on port 80 says nothing of port 8080")
        #expect(driver.inFlight.map(\.target.port) == [8080])
    }

    @Test func shorterIntervalTakesEffectAtOnceAfterManyReschedules() {
        var driver = ScheduleDriver(defaults: Self.slow)
        let id = Fixture.id("tuned", "10.4.0.1")
        func catalog(interval: Duration) -> Catalog {
            Fixture.catalog([
                Fixture.service(
                    "tuned", healthCheck: HealthCheckOverrides(interval: interval),
                    slices: [Fixture.slice(["10.4.0.1"], ports: [("app", 80)])]
                )
            ])
        }
        driver.update(catalog(interval: .seconds(3600)))
        driver.finishAll()
        // Each change of interval reschedules and leaves a stale item behind; thousands of them make the timeline
        // drop stale items, which must not drop the endpoint's current one.
        for round in 0..<3000 {
            driver.update(catalog(interval: .seconds(3600 + Int64(round % 2))))
        }
        driver.update(catalog(interval: .milliseconds(50)))
        driver.advance(by: .milliseconds(56))
        #expect(driver.probeCount(id) == 2, "the 50 ms interval took over from the hour")
    }

    @Test func endpointsWaitAsPendingUntilStart() {
        var driver = ScheduleDriver(defaults: Self.slow, start: false)
        let id = Self.ids(["early"])[0]
        driver.update(Self.catalog(["early"]))
        let changes = driver.takeChanges()
        #expect(changes?.verdicts.states == [id: .pending])
        #expect(driver.started.isEmpty, "no probe before start")
        driver.start()
        #expect(driver.inFlight.map(\.target.endpoint) == [id])
        driver.finishAll()
        #expect(driver.states[id] == .up)
    }

    @Test func stopAbandonsEveryProbeAndIgnoresWhatComesAfter() {
        var driver = ScheduleDriver(defaults: Self.slow, maxConcurrentProbes: 4)
        driver.update(Self.catalog((0..<10).map { "s-\($0)" }))
        let serials = driver.inFlight.map(\.serial)
        let actions = driver.schedule.stop()
        #expect(actions.abandon == serials)
        let later = driver.schedule.update([], unprobeable: [], now: driver.now)
        #expect(later == ProbeSchedule.Actions())
        #expect(driver.schedule.nextWakeup == nil)
    }

    @Test func probesRepeatAtTheJitteredInterval() {
        let defaults = HealthDefaults(interval: .milliseconds(100), timeout: .seconds(1), fall: 1, rise: 1)
        var driver = ScheduleDriver(defaults: defaults)
        let id = Fixture.id("repeat", "10.3.0.1")
        driver.update(
            Fixture.catalog([Fixture.service("repeat", slices: [Fixture.slice(["10.3.0.1"], ports: [("app", 80)])])])
        )
        for probe in 1...5 {
            #expect(driver.probeCount(id) == probe)
            let finishedAt = driver.now
            driver.finishAll()
            let due = try! #require(driver.schedule.nextWakeup)
            // 100 ms ± 10% after the probe ended; not before.
            #expect((90_000_000...110_000_000).contains((due - finishedAt).nanoseconds))
            driver.advance(by: due - driver.now - .nanoseconds(1))
            #expect(driver.probeCount(id) == probe, "not due yet")
            driver.advance(by: .nanoseconds(1))
        }
    }

    /// The timer fires at most once per tick: a thousand endpoints due at a thousand moments are woken for in
    /// batches, not one by one.
    @Test func wakeUpsAreAtLeastATickApart() {
        var driver = ScheduleDriver(defaults: HealthDefaults(interval: .seconds(1), timeout: .seconds(1), fall: 1, rise: 1))
        driver.update(Self.catalog((0..<200).map { "t-\($0)" }))
        driver.finishAll()
        driver.advance(by: .milliseconds(850))
        let woken = driver.now
        let next = try! #require(driver.schedule.nextWakeup)
        #expect(next - woken >= ProbeSchedule.tick)
    }

    /// 5,000 endpoints that each hold a probe slot until their timeout, 256 slots: in order of arrival, a new
    /// endpoint of another Service would wait behind all of them. Served in turn, it gets one of the next two slots.
    @Test func aBigServiceOfTimingOutEndpointsDoesNotDelayAnotherServicesFirstProbe() {
        var driver = ScheduleDriver(
            defaults: HealthDefaults(interval: .seconds(2), timeout: .seconds(1), fall: 3, rise: 1), maxConcurrentProbes: 256
        )
        let slices = (0..<5).map { slice in
            Fixture.slice((0..<1000).map { "10.70.\(slice * 4 + $0 / 250).\($0 % 250 + 1)" }, ports: [("app", 80)])
        }
        let big = Fixture.service("big", slices: slices)
        driver.update(Fixture.catalog([big]))
        #expect(driver.inFlight.count == 256, "the big Service holds every slot")

        let small = Fixture.service("small", slices: [Fixture.slice(["10.71.0.1"], ports: [("app", 80)])])
        driver.update(Fixture.catalog([big, small]), services: [Fixture.key("small")])
        #expect(driver.inFlight.count == 256, "no slot free yet")
        // The big Service's turn came first (it was waiting already); the small one's is the next.
        driver.finish(nil, .unhealthy(reason: "timed out after 1s"))
        driver.finish(nil, .unhealthy(reason: "timed out after 1s"))
        #expect(driver.inFlight.suffix(2).map(\.target.endpoint.service) == [Fixture.key("big"), Fixture.key("small")])
        #expect(driver.started.count == 258, "with 4,742 of the big Service's endpoints still waiting")
    }

    @Test func jitterStaysWithinTenPercentAndVaries() {
        let delays = (0..<1000).map { _ in ProbeSchedule.jittered(.seconds(2)).nanoseconds }
        #expect(delays.allSatisfy { (1_800_000_000...2_200_000_000).contains($0) })
        #expect(Set(delays).count > 100, "spread, not one fixed delay")
    }

    /// The reported crash: a 999999999h interval (3.6e21 ns, clamped by NIO to Int64.max) times 1.1 in `Double`
    /// trapped converting back to `Int64`. Validation now refuses it; the schedule must not trap on it either.
    @Test(arguments: [Duration.seconds(3_599_999_996_400), .seconds(Int64.max), .nanoseconds(Int64.max), .zero, .seconds(-5)])
    func jitterNeverTrapsWhateverTheInterval(interval: Duration) {
        for _ in 0..<100 {
            let delay = ProbeSchedule.jittered(interval).nanoseconds
            #expect((0...ProbeSchedule.maxInterval.nanoseconds * 11 / 10).contains(delay))
        }
    }
}
