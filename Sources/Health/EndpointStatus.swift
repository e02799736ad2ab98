import Foundation
import ServiceModel

/// One probed endpoint as `/status/endpoints` shows it: its health, and its last probe's result and time.
public struct EndpointStatus: Hashable, Sendable {
    public var endpoint: EndpointID
    public var port: Int
    public var state: EndpointHealth
    /// "probe succeeded", "connection refused", "HTTP 503", …; nil before the first probe ends.
    public var lastResult: String?
    public var lastProbe: Date?

    public init(endpoint: EndpointID, port: Int, state: EndpointHealth, lastResult: String?, lastProbe: Date?) {
        self.endpoint = endpoint
        self.port = port
        self.state = state
        self.lastResult = lastResult
        self.lastProbe = lastProbe
    }
}
