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
    /// `spec.ports`, in manifest order.
    public var ports: [ServicePort]
    /// `spec.publishNotReadyAddresses`: not-ready endpoints are served too.
    public var publishNotReadyAddresses: Bool
    /// The fields most Services leave empty, boxed so that they cost one pointer until one is set: a hundred
    /// thousand Services are held in several places at once (each file's objects, the merged catalogs), and
    /// these fields inline made a Service 232 bytes rather than 72.
    private var rare: RareFieldsBox?

    /// The CNAME target of an ExternalName Service: lower case, no trailing dot; `nil` for other types.
    public var externalName: String? {
        get { rare?.fields.externalName }
        set { changeRare { $0.externalName = newValue } }
    }
    /// `metadata.annotations` (svcdns reads its `svcdns.io/…` settings from here).
    public var annotations: [String: String] {
        get { rare?.fields.annotations ?? [:] }
        set { changeRare { $0.annotations = newValue } }
    }
    /// `metadata.labels`.
    public var labels: [String: String] {
        get { rare?.fields.labels ?? [:] }
        set { changeRare { $0.labels = newValue } }
    }
    /// How its endpoints are probed, from the `svcdns.io/health-*` annotations.
    public var healthCheck: HealthCheckOverrides {
        get { rare?.fields.healthCheck ?? HealthCheckOverrides() }
        set { changeRare { $0.healthCheck = newValue } }
    }
    /// The TTL of the records made from it, from `svcdns.io/ttl`; nil: `--ttl`.
    public var recordTTL: UInt32? {
        get { rare?.fields.recordTTL }
        set { changeRare { $0.recordTTL = newValue } }
    }

    /// The annotation that sets `recordTTL`, and the TTLs it may give (CoreDNS's kubernetes plugin takes 0–3600).
    public static let ttlKey = "svcdns.io/ttl"
    public static let ttlRange: ClosedRange<Int> = 0...3600

    /// The percentage of healthy endpoints under which all of them are answered, from `svcdns.io/panic-threshold`;
    /// nil: `--panic-threshold`.
    public var panicThreshold: Int? {
        get { rare?.fields.panicThreshold.map(Int.init) }
        set { changeRare { $0.panicThreshold = newValue.map(UInt8.init) } }
    }

    /// The weights of its endpoints, from `svcdns.io/weights`; nil: all alike.
    public var weights: EndpointWeights? {
        get { rare?.fields.weights }
        set { changeRare { $0.weights = newValue } }
    }

    /// Whether its answers keep traffic in the client's zone, from `spec.trafficDistribution` or
    /// `svcdns.io/topology` (which wins); nil: no.
    public var topology: TopologyMode? {
        get { rare?.fields.topology }
        set { changeRare { $0.topology = newValue } }
    }

    /// The annotation that sets `panicThreshold`, a percentage.
    public static let panicThresholdKey = "svcdns.io/panic-threshold"
    public static let panicThresholdRange: ClosedRange<Int> = 0...100

    private struct RareFields: Hashable, Sendable {
        var externalName: String? = nil
        var annotations: [String: String] = [:]
        var labels: [String: String] = [:]
        var healthCheck = HealthCheckOverrides()
        var recordTTL: UInt32? = nil
        var panicThreshold: UInt8? = nil
        var weights: EndpointWeights? = nil
        var topology: TopologyMode? = nil
    }

    /// Immutable: a change makes a new box, so copies of a Service never share a change.
    private final class RareFieldsBox: Sendable {
        let fields: RareFields
        init(_ fields: RareFields) { self.fields = fields }
    }

    private mutating func changeRare(_ change: (inout RareFields) -> Void) {
        var fields = rare?.fields ?? RareFields()
        change(&fields)
        rare = fields == RareFields() ? nil : RareFieldsBox(fields)
    }

    public static func == (lhs: Service, rhs: Service) -> Bool {
        lhs.key == rhs.key && lhs.type == rhs.type && lhs.clusterIPs == rhs.clusterIPs && lhs.isHeadless == rhs.isHeadless
            && lhs.ports == rhs.ports && lhs.publishNotReadyAddresses == rhs.publishNotReadyAddresses
            && (lhs.rare === rhs.rare || lhs.rare?.fields ?? RareFields() == rhs.rare?.fields ?? RareFields())
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(type)
        hasher.combine(clusterIPs)
        hasher.combine(isHeadless)
        hasher.combine(ports)
        hasher.combine(publishNotReadyAddresses)
        hasher.combine(rare?.fields ?? RareFields())
    }

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
        self.ports = ports
        self.publishNotReadyAddresses = publishNotReadyAddresses
        let fields = RareFields(externalName: externalName, annotations: annotations, labels: labels, healthCheck: healthCheck)
        self.rare = fields == RareFields() ? nil : RareFieldsBox(fields)
    }
}
