// LatencyWeightTests: `svcdns.io/weights: latency` in the schedule, on a clock the test moves.

import NIOCore
import ServiceModel
import Testing

@testable import Health

/// Round trips become weights: the fastest up endpoint weighs 100, each other 100 × fastest / its own, worked out
/// at most once per probe interval, from times smoothed over probes; `/status/endpoints` shows both.
@Suite struct LatencyWeightTests {
    static let defaults = HealthDefaults(interval: .seconds(1), timeout: .milliseconds(500), fall: 1, rise: 1)

    static func catalog(weights: EndpointWeights?) -> Catalog {
        var entry = Fixture.service("db", slices: [Fixture.slice(["127.0.2.1", "127.0.2.2"], ports: [("pg", 5432)])])
        entry.service.weights = weights
        return Fixture.catalog([entry])
    }

    /// Starts the probe round due now and answers 127.0.2.1 after `fast` and 127.0.2.2 after `slow`.
    static func round(_ driver: inout ScheduleDriver, fast: TimeAmount, slow: TimeAmount) {
        driver.advance(by: fast)
        let fastAnswered = driver.finish(Fixture.id("db", "127.0.2.1"))
        #expect(fastAnswered)
        driver.advance(by: slow - fast)
        let slowAnswered = driver.finish(Fixture.id("db", "127.0.2.2"))
        #expect(slowAnswered)
    }

    @Test func theFastestWeighs100AndTheOthersInProportion() {
        var driver = ScheduleDriver(defaults: Self.defaults)
        driver.update(Self.catalog(weights: .latency))
        let fast = Fixture.id("db", "127.0.2.1")
        let slow = Fixture.id("db", "127.0.2.2")

        // First round: when the fast one answers, the slow one is not up yet, so only the fast one is weighed; the
        // slow one's answer comes within the same interval and waits for the next.
        Self.round(&driver, fast: .milliseconds(1), slow: .milliseconds(4))
        #expect(driver.takeChanges()?.verdicts.latencyWeights == [fast: 100])

        // The next round (due within 1.1 s): 1 ms against 4 ms.
        driver.advance(by: .milliseconds(1200))
        Self.round(&driver, fast: .milliseconds(1), slow: .milliseconds(4))
        #expect(driver.takeChanges()?.verdicts.latencyWeights == [fast: 100, slow: 25])

        // Smoothed: one probe of the slow one at 1 ms moves its time 1/8 of the way, 4 → 3.625 ms. The weights were
        // worked out when the fast one answered, before that: nothing changed this round.
        driver.advance(by: .milliseconds(1200))
        Self.round(&driver, fast: .milliseconds(1), slow: .milliseconds(1))
        #expect(driver.takeChanges() == nil)
        // The round after, 1 ms against 3.625: weight 28.
        driver.advance(by: .milliseconds(1200))
        Self.round(&driver, fast: .milliseconds(1), slow: .milliseconds(1))
        #expect(driver.takeChanges()?.verdicts.latencyWeights == [fast: 100, slow: 28])
        let statuses = Dictionary(uniqueKeysWithValues: driver.schedule.statuses().map { ($0.endpoint, $0) })
        #expect(statuses[slow]?.roundTripMicroseconds == 3296)  // 3.625 → 1/8 of the way to 1 ms
        #expect(statuses[slow]?.latencyWeight == 28)
        #expect(statuses[fast]?.roundTripMicroseconds == 1000)
    }

    @Test func aServiceNotWeightedByLatencyGetsNoWeightsAndLosesThemWhenItStops() {
        var driver = ScheduleDriver(defaults: Self.defaults)
        driver.update(Self.catalog(weights: nil))
        Self.round(&driver, fast: .milliseconds(1), slow: .milliseconds(4))
        #expect(driver.takeChanges()?.verdicts.latencyWeights == [:])

        driver.update(Self.catalog(weights: .latency))
        driver.advance(by: .milliseconds(1200))
        Self.round(&driver, fast: .milliseconds(1), slow: .milliseconds(2))
        #expect(driver.takeChanges()?.verdicts.latencyWeights.count == 2)
        driver.update(Self.catalog(weights: .named(["127.0.2.1": 3])))
        #expect(driver.takeChanges()?.verdicts.latencyWeights == [:])
    }
}
