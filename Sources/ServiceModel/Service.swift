// Service: a decoded, validated `v1` Service, as the zone builder consumes it.

/// A Kubernetes `v1` Service after validation: everything DNS needs, and the labels and annotations that carry
/// the rest.
public struct Service: Hashable, Sendable {
    /// Namespace and name.
    public var key: ObjectKey
    /// `spec.type`; `ClusterIP` when the manifest leaves it out.
    public var type: ServiceType
    /// The ClusterIPs, primary first (from `spec.clusterIPs`, else `spec.clusterIP`); empty for headless and
    /// ExternalName Services. At most one per family.
    public var clusterIPs: [IPAddress]
    /// `spec.clusterIP` is `None`: DNS answers with the endpoints' addresses instead of a ClusterIP.
    public var isHeadless: Bool
    /// The CNAME target of an ExternalName Service: lower case, no trailing dot; `nil` for other types.
    public var externalName: String?
    /// `spec.ports`, in manifest order.
    public var ports: [ServicePort]
    /// `spec.publishNotReadyAddresses`: not-ready endpoints are served too.
    public var publishNotReadyAddresses: Bool
    /// `metadata.annotations` (svcdns reads its `svcdns.io/…` settings from here).
    public var annotations: [String: String]
    /// `metadata.labels`.
    public var labels: [String: String]
    /// How its endpoints are probed, from the `svcdns.io/health-*` annotations.
    public var healthCheck: HealthCheckOverrides

    /// Creates a Service; the values are not validated here (``ManifestDecoder`` validates what it decodes).
    public init(
        key: ObjectKey,
        type: ServiceType = .clusterIP,
        clusterIPs: [IPAddress] = [],
        isHeadless: Bool = false,
        externalName: String? = nil,
        ports: [ServicePort] = [],
        publishNotReadyAddresses: Bool = false,
        annotations: [String: String] = [:],
        labels: [String: String] = [:],
        healthCheck: HealthCheckOverrides = HealthCheckOverrides()
    ) {
        self.key = key
        self.type = type
        self.clusterIPs = clusterIPs
        self.isHeadless = isHeadless
        self.externalName = externalName
        self.ports = ports
        self.publishNotReadyAddresses = publishNotReadyAddresses
        self.annotations = annotations
        self.labels = labels
        self.healthCheck = healthCheck
    }
}
