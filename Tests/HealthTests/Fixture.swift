// Fixture: catalogs built in code for the Health tests.

import ServiceModel

/// Builders for Services with their EndpointSlices.
enum Fixture {
    /// A Service and the slices that belong to it.
    struct ServiceWithSlices {
        var service: Service
        var slices: [EndpointSlice]
    }

    static func key(_ name: String) -> ObjectKey {
        ObjectKey(namespace: "default", name: name)
    }

    static func id(_ service: String, _ address: String) -> EndpointID {
        EndpointID(service: key(service), address: IPAddress(address)!)
    }

    /// A headless Service named `name`; each slice is renamed to belong to it.
    static func service(
        _ name: String, healthCheck: HealthCheckOverrides = HealthCheckOverrides(), slices: [EndpointSlice]
    ) -> ServiceWithSlices {
        let service = Service(key: key(name), isHeadless: true, healthCheck: healthCheck)
        let owned = slices.enumerated().map { index, slice in
            var slice = slice
            slice.serviceName = name
            if slice.key.name.isEmpty {
                slice.key = key("\(name)-\(index)")
            }
            return slice
        }
        return ServiceWithSlices(service: service, slices: owned)
    }

    /// A ready slice (IPv4, or IPv6 when the addresses are) of the given addresses and (name, number) TCP ports.
    static func slice(_ addresses: [String], name: String = "", ports: [(String?, Int)]) -> EndpointSlice {
        slice(addresses, name: name, ports: ports.map { EndpointPort(name: $0.0, port: $0.1) })
    }

    static func slice(_ addresses: [String], name: String = "", ports: [EndpointPort]) -> EndpointSlice {
        EndpointSlice(
            key: key(name),
            serviceName: nil,
            addressType: addresses.first?.contains(":") == true ? .ipv6 : .ipv4,
            endpoints: addresses.map { Endpoint(addresses: [IPAddress($0)!]) },
            ports: ports
        )
    }

    static func catalog(_ services: [ServiceWithSlices]) -> Catalog {
        var catalog = Catalog()
        for entry in services {
            catalog.insert(.service(entry.service))
            for slice in entry.slices {
                catalog.insert(.endpointSlice(slice))
            }
        }
        return catalog
    }
}
