// ProbeTarget: one endpoint to probe and how, as ProbePlan hands it to HealthChecker.

import ServiceModel

/// One endpoint to probe, with its Service's settings already resolved over the server-wide defaults.
public struct ProbeTarget: Hashable, Sendable {
    /// The Service and the address; also the key of the endpoint's verdict.
    public var endpoint: EndpointID
    /// The port probed on `endpoint.address`.
    public var port: Int
    /// TCP connect or HTTP GET (with its path).
    public var kind: ProbeKind
    /// Time from the end of one probe to the start of the next, before jitter.
    public var interval: Duration
    /// Bound on one whole probe.
    public var timeout: Duration
    /// Consecutive failures that mark the endpoint down.
    public var fall: Int
    /// Consecutive successes that bring it back up.
    public var rise: Int
    /// Its Service is weighted by latency (`svcdns.io/weights: latency`): its round-trip times set its weight.
    public var weighsByLatency: Bool

    /// Creates a target; the values are not validated here (``ProbePlan`` builds them from validated manifests).
    public init(
        endpoint: EndpointID, port: Int, kind: ProbeKind, interval: Duration, timeout: Duration, fall: Int, rise: Int,
        weighsByLatency: Bool = false
    ) {
        self.weighsByLatency = weighsByLatency
        self.endpoint = endpoint
        self.port = port
        self.kind = kind
        self.interval = interval
        self.timeout = timeout
        self.fall = fall
        self.rise = rise
    }
}
