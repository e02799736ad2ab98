// ManifestObject: any object the decoder hands on to the catalog.

/// One decoded object of a kind svcdns serves.
public enum ManifestObject: Hashable, Sendable {
    case service(Service)
    case endpointSlice(EndpointSlice)
    case endpoints(Endpoints)

    /// The Kubernetes kind: `Service`, `EndpointSlice` or `Endpoints`.
    public var kind: String {
        switch self {
        case .service: "Service"
        case .endpointSlice: "EndpointSlice"
        case .endpoints: "Endpoints"
        }
    }

    /// The object's namespace and name.
    public var key: ObjectKey {
        switch self {
        case .service(let service): service.key
        case .endpointSlice(let slice): slice.key
        case .endpoints(let endpoints): endpoints.key
        }
    }
}

/// An object's kind and key: what makes two objects the same object, whatever their contents.
public struct ObjectIdentity: Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var key: ObjectKey

    public init(kind: String, key: ObjectKey) {
        self.kind = kind
        self.key = key
    }

    public init(_ object: ManifestObject) {
        self.init(kind: object.kind, key: object.key)
    }

    /// `Kind ns/name`, as problems name objects.
    public var description: String { "\(kind) \(key)" }
}
