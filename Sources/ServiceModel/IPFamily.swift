// IPFamily: the address family of an IP, spelled as Kubernetes spells it in `ipFamilies` and `addressType`.

/// An IP address family, with the raw values Kubernetes uses (`spec.ipFamilies`, EndpointSlice `addressType`).
public enum IPFamily: String, Hashable, Sendable {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"
}
