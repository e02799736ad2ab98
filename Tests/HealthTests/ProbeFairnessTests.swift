// ProbeFairnessTests: probe slots shared across Services, so one big Service of endpoints that time out cannot
// keep another Service's new endpoint waiting for its first probe.

import NIOConcurrencyHelpers
import NIOCore
import ServiceModel
import Testing

@testable import Health

/// A prober for blackholed endpoints: every probe of a Service other than `fast` takes its whole timeout and fails,
/// as a connect to an address that never answers does; probes of `fast` succeed at once. Records each endpoint's
/// first probe.
final class TimingOutProber: Prober, Sendable {
    let fast: ObjectKey
    private let firstProbes = NIOLockedValueBox([EndpointID: ContinuousClock.Instant]())

    init(fast: ObjectKey) {
        self.fast = fast
    }

    func probe(
        _ target: ProbeTarget, on eventLoop: any EventLoop, cancellation: ProbeCancellation
    ) -> EventLoopFuture<ProbeResult> {
        let now = ContinuousClock.now
        firstProbes.withLockedValue { if $0[target.endpoint] == nil { $0[target.endpoint] = now } }
        guard target.endpoint.service != fast else { return eventLoop.makeSucceededFuture(.healthy) }
        let promise = eventLoop.makePromise(of: ProbeResult.self)
        eventLoop.scheduleTask(in: TimeAmount(target.timeout)) { promise.succeed(.unhealthy(reason: "timed out")) }
        return promise.futureResult
    }

    func firstProbe(of id: EndpointID) -> ContinuousClock.Instant? {
        firstProbes.withLockedValue { $0[id] }
    }

    var probedCount: Int { firstProbes.withLockedValue { $0.count } }
}

@Suite("Probe fairness")
struct ProbeFairnessTests {
    /// 5,000 endpoints that each hold a probe slot for the 1 s timeout, 256 slots: a queue of them in order of
    /// arrival takes 20 s to get through, and a new endpoint of another Service would wait behind all of it.
    /// Served in turn, that endpoint gets the next free slot, within one interval (2 s).
    @Test func aBigServiceOfTimingOutEndpointsDoesNotDelayAnotherServicesFirstProbe() async throws {
        let prober = TimingOutProber(fast: Fixture.key("small"))
        let defaults = HealthDefaults(interval: .seconds(2), timeout: .seconds(1), fall: 3, rise: 1)
        try await withChecker(defaults: defaults, maxConcurrentProbes: 256, prober: prober) { harness in
            let slices = (0..<5).map { slice in
                Fixture.slice((0..<1000).map { "10.70.\(slice * 4 + $0 / 250).\($0 % 250 + 1)" }, ports: [("app", 80)])
            }
            let big = Fixture.service("big", slices: slices)
            harness.checker.update(catalog: Fixture.catalog([big]))
            // Until the first slots have been taken and the rest of the 5,000 wait (at most 5 s).
            for _ in 0..<500 where prober.probedCount < 256 {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await harness.checker.probeCounts().inFlight == 256, "the big Service holds every slot")

            let small = Fixture.service("small", slices: [Fixture.slice(["10.71.0.1"], ports: [("app", 80)])])
            let added = ContinuousClock.now
            harness.checker.update(catalog: Fixture.catalog([big, small]), changedServices: [Fixture.key("small")])
            let id = Fixture.id("small", "10.71.0.1")
            for _ in 0..<500 where prober.firstProbe(of: id) == nil {
                try await Task.sleep(for: .milliseconds(10))
            }
            let firstProbe = try #require(prober.firstProbe(of: id), "no probe of the new endpoint within 5 s")
            #expect(firstProbe - added < .seconds(2), "first probe \(firstProbe - added) after the endpoint appeared")
            #expect(prober.probedCount < 1000, "the big Service was still waiting for slots: the test measured the contention")
        }
    }
}
