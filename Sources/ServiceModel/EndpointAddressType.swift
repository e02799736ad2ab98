// EndpointAddressType: the `addressType` of an EndpointSlice.

/// The kind of address every endpoint of an EndpointSlice holds.
public enum EndpointAddressType: String, Hashable, Sendable {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"
    /// Kubernetes deprecated FQDN slices; svcdns keeps the slice but serves no records from it.
    case fqdn = "FQDN"
}
