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
