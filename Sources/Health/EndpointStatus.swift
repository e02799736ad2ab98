import Foundation
import ServiceModel

/// One probed endpoint as `/status/endpoints` shows it: its health, its last probe's result and time, its round
/// trip, and the weight that comes of it.
public struct EndpointStatus: Hashable, Sendable {
    public var endpoint: EndpointID
    public var port: Int
    public var state: EndpointHealth
    /// "probe succeeded", "connection refused", "HTTP 503", …; nil before the first probe ends.
    public var lastResult: String?
    public var lastProbe: Date?
    /// The successful probes' smoothed round-trip time, in microseconds; nil before the first success.
    public var roundTripMicroseconds: Int64?
    /// Its weight from that time, when its Service is weighted by latency (`svcdns.io/weights: latency`).
    public var latencyWeight: Int?

    public init(
        endpoint: EndpointID, port: Int, state: EndpointHealth, lastResult: String?, lastProbe: Date?,
        roundTripMicroseconds: Int64? = nil, latencyWeight: Int? = nil
    ) {
        self.endpoint = endpoint
        self.port = port
        self.state = state
        self.lastResult = lastResult
        self.lastProbe = lastProbe
        self.roundTripMicroseconds = roundTripMicroseconds
        self.latencyWeight = latencyWeight
    }
}
