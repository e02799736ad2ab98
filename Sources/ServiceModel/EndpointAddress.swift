// EndpointAddress: one address of a legacy `v1` Endpoints subset.

/// One address in a legacy Endpoints subset (`addresses[j]` or `notReadyAddresses[j]`).
public struct EndpointAddress: Hashable, Sendable {
    /// `ip`.
    public var ip: IPAddress
    /// `hostname`, a DNS-1123 label, `nil` when absent.
    public var hostname: String?
    /// `nodeName`, `nil` when absent.
    public var nodeName: String?
    /// `targetRef.name`, the pod's name, `nil` when absent.
    public var podName: String?

    /// Creates an address; the values are not validated here.
    public init(ip: IPAddress, hostname: String? = nil, nodeName: String? = nil, podName: String? = nil) {
        self.ip = ip
        self.hostname = hostname
        self.nodeName = nodeName
        self.podName = podName
    }
}
