// ProbeScheduleTests: the jitter that keeps probes of endpoints registered together from arriving together.

import NIOCore
import ServiceModel
import Testing

@testable import Health

@Suite("Probe schedule")
struct ProbeScheduleTests {
    @Test func jitterStaysWithinTenPercentAndVaries() {
        let delays = (0..<1000).map { _ in ProbeScheduler.jittered(.seconds(2)).nanoseconds }
        let withinTenPercent = delays.allSatisfy { (1_800_000_000...2_200_000_000).contains($0) }
        #expect(withinTenPercent)
        #expect(Set(delays).count > 100, "spread, not one fixed delay")
    }

    /// The reported crash: a 999999999h interval (3.6e21 ns, clamped by NIO to Int64.max) times 1.1 in `Double`
    /// trapped converting back to `Int64`. Validation now refuses it; the schedule must not trap on it either.
    @Test(arguments: [Duration.seconds(3_599_999_996_400), .seconds(Int64.max), .nanoseconds(Int64.max), .zero, .seconds(-5)])
    func jitterNeverTrapsWhateverTheInterval(interval: Duration) {
        for _ in 0..<100 {
            let delay = ProbeScheduler.jittered(interval).nanoseconds
            #expect((0...ProbeScheduler.maxInterval.nanoseconds * 11 / 10).contains(delay))
        }
    }

    @Test func probesRepeatAtTheJitteredInterval() async throws {
        let prober = ScriptedProber()
        let defaults = HealthDefaults(interval: .milliseconds(100), timeout: .seconds(1), fall: 1, rise: 1)
        try await withChecker(defaults: defaults, prober: prober) { harness in
            let id = Fixture.id("repeat", "10.3.0.1")
            let clock = ContinuousClock()
            harness.checker.update(
                catalog: Fixture.catalog([
                    Fixture.service("repeat", slices: [Fixture.slice(["10.3.0.1"], ports: [("app", 80)])])
                ])
            )
            let firstProbe = await eventually(within: .seconds(1)) { prober.probeCount(id) == 1 }
            #expect(firstProbe != nil, "first probe at once")
            let first = clock.now
            let fifth = await eventually(within: .seconds(5)) { prober.probeCount(id) >= 5 }
            #expect(fifth != nil)
            // Four more probes, each at least 90 ms (100 ms less 10% jitter) after the one before.
            #expect(clock.now - first >= .milliseconds(360))
        }
    }
}
