// HealthTransition: one endpoint changing state, as HealthChecker hands it to its onChange callback.

import ServiceModel

/// One endpoint's verdict changing, with the probe result that changed it.
public struct HealthTransition: Hashable, Sendable {
    /// The Service and address whose verdict changed.
    public var endpoint: EndpointID
    /// The port that was probed.
    public var port: Int
    /// The verdict before.
    public var from: EndpointHealth
    /// The verdict now.
    public var to: EndpointHealth
    /// Why: the failing probe's reason (`connection refused`, `HTTP 503`), or `probe succeeded`.
    public var reason: String

    /// Creates a transition.
    public init(endpoint: EndpointID, port: Int, from: EndpointHealth, to: EndpointHealth, reason: String) {
        self.endpoint = endpoint
        self.port = port
        self.from = from
        self.to = to
        self.reason = reason
    }
}
