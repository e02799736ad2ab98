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
