// HealthVerdicts: what the health checker concluded, as a plain value the zone builder reads.

/// One endpoint address of one Service: the unit that is probed and pruned. The same address in two
/// Services is two endpoints, since each Service may probe it differently.
public struct EndpointID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var service: ObjectKey
    public var address: IPAddress

    public init(service: ObjectKey, address: IPAddress) {
        self.service = service
        self.address = address
    }

    public static func < (lhs: EndpointID, rhs: EndpointID) -> Bool {
        (lhs.service, lhs.address) < (rhs.service, rhs.address)
    }

    public var description: String { "\(service) \(address)" }
}

/// The health of one probed endpoint.
public enum EndpointHealth: String, Hashable, Sendable {
    /// Not yet answered a probe: not served, as Kubernetes serves a pod only once it is ready.
    case pending
    case up
    case down
}

/// The health of every probed endpoint. An endpoint that is not in here is not probed (its Service says
/// `svcdns.io/health-check: none`, or no checker runs) and is served as its manifest says.
public struct HealthVerdicts: Hashable, Sendable {
    public var states: [EndpointID: EndpointHealth]
    /// The weights derived from probe round-trip times, for the endpoints of Services weighted by latency
    /// (`svcdns.io/weights: latency`), 1–100; an endpoint not in here weighs 1.
    public var latencyWeights: [EndpointID: Int]

    public init(states: [EndpointID: EndpointHealth] = [:], latencyWeights: [EndpointID: Int] = [:]) {
        self.states = states
        self.latencyWeights = latencyWeights
    }

    /// True when the endpoint may be served: unprobed, or up.
    public func isServable(_ id: EndpointID) -> Bool {
        switch states[id] {
        case nil, .up: true
        case .pending, .down: false
        }
    }
}

extension HealthVerdicts {
    /// The Services with an endpoint whose verdict differs from `earlier` (added, removed or changed).
    public func servicesChanged(since earlier: HealthVerdicts) -> Set<ObjectKey> {
        var changed: Set<ObjectKey> = []
        for (id, state) in states where earlier.states[id] != state {
            changed.insert(id.service)
        }
        for id in earlier.states.keys where states[id] == nil {
            changed.insert(id.service)
        }
        for (id, weight) in latencyWeights where earlier.latencyWeights[id] != weight {
            changed.insert(id.service)
        }
        for id in earlier.latencyWeights.keys where latencyWeights[id] == nil {
            changed.insert(id.service)
        }
        return changed
    }
}
