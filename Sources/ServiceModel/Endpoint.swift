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
    /// `nodeName`, `nil` when absent.
    public var nodeName: String?
    /// `zone`, `nil` when absent.
    public var zone: String?

    /// Creates an endpoint; the values are not validated here.
    public init(
        addresses: [IPAddress],
        hostname: String? = nil,
        ready: Bool = true,
        serving: Bool? = nil,
        terminating: Bool? = nil,
        nodeName: String? = nil,
        zone: String? = nil
    ) {
        self.addresses = EndpointAddresses(addresses)
        self.hostname = hostname
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
        self.nodeName = nodeName
        self.zone = zone
    }
}
