// HealthStateMachine: probe results in, endpoint state out (rise/fall), with no clock and no I/O.

import ServiceModel

/// The rise/fall state of one endpoint. A value with no clock: feed it each probe result in order, and act on the
/// state it returns.
///
/// - `pending` + a success → `up` at once: an endpoint is served from its first successful probe, as Kubernetes
///   serves a pod from its first passing readiness probe.
/// - `pending` or `up` + `fall` consecutive failures → `down`.
/// - `down` + `rise` consecutive successes → `up`.
///
/// A success resets the failure count and a failure the success count, so only unbroken runs count.
public struct HealthStateMachine: Hashable, Sendable {
    /// The current state; `.pending` until the first result decides it.
    public private(set) var state: EndpointHealth = .pending
    /// Consecutive failures that mark the endpoint down (at least 1).
    public private(set) var fall: Int
    /// Consecutive successes that bring it back up (at least 1).
    public private(set) var rise: Int
    private var failures = 0
    private var successes = 0

    /// Creates a machine in `.pending`. Counts below 1 are taken as 1 (annotations are validated to 1-100 before
    /// they get here; this only keeps a zero from meaning "never").
    public init(fall: Int, rise: Int) {
        self.fall = max(1, fall)
        self.rise = max(1, rise)
    }

    /// Records one probe result; returns the new state when it changed, else nil.
    public mutating func record(_ result: ProbeResult) -> EndpointHealth? {
        switch result {
        case .healthy:
            failures = 0
            successes += 1
        case .unhealthy:
            successes = 0
            failures += 1
        }
        let next: EndpointHealth
        switch state {
        case .pending where successes > 0: next = .up
        case .pending, .up: next = failures >= fall ? .down : state
        case .down: next = successes >= rise ? .up : .down
        }
        guard next != state else { return nil }
        state = next
        // A new state starts counting afresh, so the value is the same whichever run led to it.
        failures = 0
        successes = 0
        return next
    }

    /// Changes the thresholds while keeping the state and the current runs (a Service's annotations changed);
    /// a run already past the new threshold takes effect at the next result.
    mutating func reconfigure(fall: Int, rise: Int) {
        self.fall = max(1, fall)
        self.rise = max(1, rise)
    }

    /// Forgets the current runs but keeps the state: what is probed changed (another port or kind), so the runs
    /// so far say nothing about it.
    mutating func resetRuns() {
        failures = 0
        successes = 0
    }
}
