// TopologyMode: how a Service's answers follow the client's zone.

/// How a Service's answers follow zones: `spec.trafficDistribution: PreferSameZone` (or `PreferClose`), or the
/// annotation `svcdns.io/topology`.
public enum TopologyMode: String, Hashable, Sendable {
    /// Endpoints in the zone first; all of them when none there is healthy.
    case preferZone = "prefer-zone"
    /// Only endpoints in the zone.
    case requireZone = "require-zone"

    public static let annotationKey = "svcdns.io/topology"
}
