// Exposure: which Services svcdns serves (`--namespaces`, `--labels`); the rest answer as if absent.

/// A filter on Services by namespace and by labels. Both must admit a Service for it to be served; an
/// EndpointSlice or Endpoints object counts only through its Service.
public struct Exposure: Hashable, Sendable {
    /// The namespaces served; nil: all.
    public var namespaces: Set<String>?
    /// The label selector Services must match; nil: all.
    public var labels: LabelSelector?

    public static let everything = Exposure()

    public init(namespaces: Set<String>? = nil, labels: LabelSelector? = nil) {
        self.namespaces = namespaces
        self.labels = labels
    }

    /// Why `name` cannot be a namespace (a DNS-1123 label), or nil.
    public static func namespaceProblem(_ name: String) -> String? {
        Validation.dns1123Label(name)
    }

    public func admits(_ service: Service) -> Bool {
        if let namespaces, !namespaces.contains(service.key.namespace) { return false }
        if let labels, !labels.matches(service.labels) { return false }
        return true
    }

    /// What the filters leave out of `catalog`, for `svcdns check`.
    public struct LeftOut: Hashable, Sendable {
        /// Services outside `--namespaces`.
        public var byNamespace = 0
        /// Services in those namespaces whose labels do not match `--labels`.
        public var byLabels = 0
        /// The EndpointSlices and Endpoints objects of the Services left out.
        public var endpointObjects = 0
    }

    public func leftOut(of catalog: Catalog) -> LeftOut {
        var result = LeftOut()
        for (key, service) in catalog.services {
            if let namespaces, !namespaces.contains(key.namespace) {
                result.byNamespace += 1
            } else if let labels, !labels.matches(service.labels) {
                result.byLabels += 1
            } else {
                continue
            }
            result.endpointObjects += catalog.endpointSlices(of: key).count + (catalog.endpoints[key] == nil ? 0 : 1)
        }
        return result
    }
}
