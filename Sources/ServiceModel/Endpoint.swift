// Endpoint: one entry of an EndpointSlice's `endpoints`.

/// One endpoint (usually a pod) of an EndpointSlice.
public struct Endpoint: Hashable, Sendable {
    /// The endpoint's addresses, all of the slice's family; empty in FQDN slices, whose addresses svcdns does not read.
    public var addresses: EndpointAddresses
    /// `hostname`, a DNS-1123 label: the endpoint's name under a headless Service (else its dashed address is used).
    public var hostname: String?
    /// `conditions.ready`; Kubernetes reads an absent condition as ready, and so does this.
    public var ready: Bool
    /// `conditions.serving`, `nil` when absent.
    public var serving: Bool?
    /// `conditions.terminating`, `nil` when absent.
    public var terminating: Bool?
    /// Which pod it is and where it runs, boxed: most manifests svcdns reads leave all three out, and a million
    /// endpoints with optional strings inline took 80 bytes each rather than 56.
    private var placement: PlacementBox?

    /// `nodeName`, `nil` when absent.
    public var nodeName: String? {
        get { placement?.nodeName }
        set { place(nodeName: newValue, zone: zone, podName: podName) }
    }
    /// `zone`, `nil` when absent.
    public var zone: String? {
        get { placement?.zone }
        set { place(nodeName: nodeName, zone: newValue, podName: podName) }
    }
    /// `targetRef.name`, the pod's name (a DNS-1123 subdomain), `nil` when absent.
    public var podName: String? {
        get { placement?.podName }
        set { place(nodeName: nodeName, zone: zone, podName: newValue) }
    }
    /// `hints.forZones[].name`: the zones the endpoint should serve besides its own.
    public var hintZones: [String] {
        get { placement?.hintZones ?? [] }
        set { place(nodeName: nodeName, zone: zone, podName: podName, hintZones: newValue) }
    }

    /// Immutable: a change makes a new box, so copies of an endpoint never share a change.
    private final class PlacementBox: Sendable {
        let nodeName: String?
        let zone: String?
        let podName: String?
        let hintZones: [String]
        init(nodeName: String?, zone: String?, podName: String?, hintZones: [String]) {
            self.nodeName = nodeName
            self.zone = zone
            self.podName = podName
            self.hintZones = hintZones
        }
    }

    private mutating func place(nodeName: String?, zone: String?, podName: String?, hintZones: [String]? = nil) {
        let hints = hintZones ?? self.hintZones
        placement =
            nodeName == nil && zone == nil && podName == nil && hints.isEmpty
            ? nil : PlacementBox(nodeName: nodeName, zone: zone, podName: podName, hintZones: hints)
    }

    public static func == (lhs: Endpoint, rhs: Endpoint) -> Bool {
        lhs.addresses == rhs.addresses && lhs.hostname == rhs.hostname && lhs.ready == rhs.ready
            && lhs.serving == rhs.serving && lhs.terminating == rhs.terminating && lhs.nodeName == rhs.nodeName
            && lhs.zone == rhs.zone && lhs.podName == rhs.podName && lhs.hintZones == rhs.hintZones
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(addresses)
        hasher.combine(hostname)
        hasher.combine(ready)
        hasher.combine(serving)
        hasher.combine(terminating)
        hasher.combine(nodeName)
        hasher.combine(zone)
        hasher.combine(podName)
        hasher.combine(hintZones)
    }

    /// Creates an endpoint; the values are not validated here.
    public init(
        addresses: [IPAddress],
        hostname: String? = nil,
        ready: Bool = true,
        serving: Bool? = nil,
        terminating: Bool? = nil,
        nodeName: String? = nil,
        zone: String? = nil,
        podName: String? = nil,
        hintZones: [String] = []
    ) {
        self.addresses = EndpointAddresses(addresses)
        self.hostname = hostname
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
        place(nodeName: nodeName, zone: zone, podName: podName, hintZones: hintZones)
    }
}
