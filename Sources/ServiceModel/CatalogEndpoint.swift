// CatalogEndpoint: one address a Service has, joined from its EndpointSlices or legacy Endpoints.

/// One address a Service offers, with what its DNS names and probes are made from.
public struct CatalogEndpoint: Hashable, Sendable {
    public var address: IPAddress
    /// The endpoint's `hostname`, when it has one.
    public var hostname: String?
    /// The name of the pod behind it (`targetRef.name`), when the manifest gives one.
    public var podName: String?
    /// Its zone (`zone`), and the zones its hints name (`hints.forZones`); none from legacy Endpoints.
    public var zone: String? = nil
    public var hintZones: [String] = []
    /// The ports of the EndpointSlice (or Endpoints subset) the address came from.
    public var ports: [EndpointPort]

    public init(
        address: IPAddress, hostname: String? = nil, podName: String? = nil, zone: String? = nil, hintZones: [String] = [],
        ports: [EndpointPort] = []
    ) {
        self.address = address
        self.hostname = hostname
        self.podName = podName
        self.zone = zone
        self.hintZones = hintZones
        self.ports = ports
    }
}

extension CatalogEndpoint {
    /// True when it serves `zone`: it is in it, or its hints name it.
    public func serves(zone name: String) -> Bool {
        zone == name || hintZones.contains(name)
    }

    /// The pod's name when it can be one DNS label (no dots, at most 63 characters), else `nil`.
    public var podLabel: String? {
        podName.flatMap { Validation.dns1123Label($0) == nil ? $0 : nil }
    }
}

extension Catalog {
    /// The addresses a Service offers: ready ones (and not-ready ones with `publishNotReadyAddresses`), from
    /// its EndpointSlices, or from its legacy Endpoints when it has no slice (kubectl output often has both,
    /// mirrored; slices win, as in CoreDNS). Each address once, in slice order; FQDN slices are skipped.
    public func offeredEndpoints(of service: Service) -> [CatalogEndpoint] {
        var result: [CatalogEndpoint] = []
        var seen: Set<IPAddress> = []
        let slices = endpointSlices(of: service.key)
        if !slices.isEmpty {
            for slice in slices where slice.addressType != .fqdn {
                for endpoint in slice.endpoints where endpoint.ready || service.publishNotReadyAddresses {
                    for address in endpoint.addresses where seen.insert(address).inserted {
                        result.append(
                            CatalogEndpoint(
                                address: address, hostname: endpoint.hostname, podName: endpoint.podName,
                                zone: endpoint.zone, hintZones: endpoint.hintZones, ports: slice.ports
                            )
                        )
                    }
                }
            }
        } else if let endpoints = endpoints[service.key] {
            for subset in endpoints.subsets {
                let addresses = subset.addresses + (service.publishNotReadyAddresses ? subset.notReadyAddresses : [])
                for address in addresses where seen.insert(address.ip).inserted {
                    result.append(
                        CatalogEndpoint(
                            address: address.ip, hostname: address.hostname, podName: address.podName, ports: subset.ports
                        )
                    )
                }
            }
        }
        return result
    }
}
