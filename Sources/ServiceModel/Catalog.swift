// Catalog: every decoded object by kind, namespace and name — the value the zone builder reads.

/// All Services, EndpointSlices and Endpoints, each by namespace and name. A value: copies are independent,
/// and cheap to change (a change to a copy copies a sixty-fourth of it, see `ShardedDictionary`).
public struct Catalog: Hashable, Sendable {
    /// Services by key.
    public var services: ShardedDictionary<ObjectKey, Service>
    /// EndpointSlices by their own key. Setting the whole dictionary re-indexes every slice; prefer `insert`/`remove`.
    public var endpointSlices: ShardedDictionary<ObjectKey, EndpointSlice> {
        get { slices }
        set {
            slices = newValue
            sliceNamesByService = Self.index(newValue)
        }
    }
    /// Legacy Endpoints by key (the same key as their Service's).
    public var endpoints: ShardedDictionary<ObjectKey, Endpoints>

    private var slices: ShardedDictionary<ObjectKey, EndpointSlice>
    /// Service key → names of its slices, kept in step with `slices` so that `endpointSlices(of:)` does not scan
    /// every slice once per Service while a snapshot is built.
    private var sliceNamesByService: ShardedDictionary<ObjectKey, Set<String>>

    /// Creates a catalog, empty by default.
    public init(
        services: [ObjectKey: Service] = [:],
        endpointSlices: [ObjectKey: EndpointSlice] = [:],
        endpoints: [ObjectKey: Endpoints] = [:]
    ) {
        self.services = ShardedDictionary(services)
        self.slices = ShardedDictionary(endpointSlices)
        self.endpoints = ShardedDictionary(endpoints)
        self.sliceNamesByService = Self.index(self.slices)
    }

    /// Adds an object, replacing any object of the same kind and key.
    public mutating func insert(_ object: ManifestObject) {
        switch object {
        case .service(let service):
            services[service.key] = service
        case .endpointSlice(let slice):
            unindex(slice.key)
            slices[slice.key] = slice
            if let service = Self.serviceKey(of: slice) {
                sliceNamesByService[service, default: []].insert(slice.key.name)
            }
        case .endpoints(let endpoints):
            self.endpoints[endpoints.key] = endpoints
        }
    }

    /// Removes the object of the given object's kind and key, if there is one; the rest of the object is not compared.
    public mutating func remove(_ object: ManifestObject) {
        switch object {
        case .service(let service):
            services[service.key] = nil
        case .endpointSlice(let slice):
            unindex(slice.key)
            slices[slice.key] = nil
        case .endpoints(let endpoints):
            self.endpoints[endpoints.key] = nil
        }
    }

    /// The object of that kind and key, if the catalog holds one.
    public func object(_ identity: ObjectIdentity) -> ManifestObject? {
        switch identity.kind {
        case "Service": services[identity.key].map(ManifestObject.service)
        case "EndpointSlice": slices[identity.key].map(ManifestObject.endpointSlice)
        case "Endpoints": endpoints[identity.key].map(ManifestObject.endpoints)
        default: nil
        }
    }

    /// The Services whose records inserting or removing `object` may change: the Service itself, or the
    /// Service an EndpointSlice is labelled for, both before (the slice of that key now in the catalog)
    /// and after.
    public func servicesAffected(by object: ManifestObject) -> Set<ObjectKey> {
        switch object {
        case .service(let service):
            return [service.key]
        case .endpoints(let endpoints):
            return [endpoints.key]
        case .endpointSlice(let slice):
            let before = slices[slice.key].flatMap(Self.serviceKey)
            return Set([before, Self.serviceKey(of: slice)].compactMap { $0 })
        }
    }

    /// The EndpointSlices of a Service: those in its namespace whose label `kubernetes.io/service-name` is its name,
    /// sorted by slice name. Empty when there are none, or no such Service.
    public func endpointSlices(of service: ObjectKey) -> [EndpointSlice] {
        guard let names = sliceNamesByService[service] else { return [] }
        return names.sorted().compactMap { slices[ObjectKey(namespace: service.namespace, name: $0)] }
    }

    /// How many objects of each kind the catalog holds.
    public var counts: (services: Int, endpointSlices: Int, endpoints: Int) {
        (services.count, slices.count, endpoints.count)
    }

    private mutating func unindex(_ sliceKey: ObjectKey) {
        guard let old = slices[sliceKey], let service = Self.serviceKey(of: old) else { return }
        sliceNamesByService[service]?.remove(sliceKey.name)
        if sliceNamesByService[service]?.isEmpty == true {
            sliceNamesByService[service] = nil
        }
    }

    private static func serviceKey(of slice: EndpointSlice) -> ObjectKey? {
        slice.serviceName.map { ObjectKey(namespace: slice.key.namespace, name: $0) }
    }

    private static func index(_ slices: ShardedDictionary<ObjectKey, EndpointSlice>) -> ShardedDictionary<ObjectKey, Set<String>> {
        var index = ShardedDictionary<ObjectKey, Set<String>>()
        for slice in slices.values {
            if let service = serviceKey(of: slice) {
                index[service, default: []].insert(slice.key.name)
            }
        }
        return index
    }
}
