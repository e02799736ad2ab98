// EndpointSlice: a decoded, validated `discovery.k8s.io/v1` EndpointSlice.

/// A Kubernetes EndpointSlice after validation. It belongs to the Service named by its `kubernetes.io/service-name`
/// label in the same namespace.
public struct EndpointSlice: Hashable, Sendable {
    /// Namespace and name of the slice itself (not of its Service).
    public var key: ObjectKey
    /// The label `kubernetes.io/service-name`; `nil` when the slice belongs to no Service.
    public var serviceName: String?
    /// The family of every address in the slice.
    public var addressType: EndpointAddressType
    /// `endpoints`, in manifest order.
    public var endpoints: [Endpoint]
    /// `ports`, in manifest order.
    public var ports: [EndpointPort]
    /// `metadata.labels`.
    public var labels: [String: String]

    /// Creates a slice; the values are not validated here (``ManifestDecoder`` validates what it decodes).
    public init(
        key: ObjectKey,
        serviceName: String?,
        addressType: EndpointAddressType,
        endpoints: [Endpoint] = [],
        ports: [EndpointPort] = [],
        labels: [String: String] = [:]
    ) {
        self.key = key
        self.serviceName = serviceName
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
        self.labels = labels
    }
}
