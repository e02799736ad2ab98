// Reading a `discovery.k8s.io/v1` (or `v1beta1`) EndpointSlice, validated as the API server validates it.

extension ObjectReader {
    /// Reads an EndpointSlice; the result is meaningful only when no problem was reported.
    mutating func readEndpointSlice(_ root: YAMLField) -> EndpointSlice {
        let metadata = metadata(of: root, nameRule: Validation.dns1123Subdomain)
        let addressType = addressType(root.child("addressType"))
        let endpoints = mappings(root.child("endpoints")).map { endpoint($0, addressType: addressType) }
        return EndpointSlice(
            key: metadata.key,
            serviceName: metadata.labels["kubernetes.io/service-name"],
            addressType: addressType ?? .fqdn,
            endpoints: endpoints,
            ports: endpointPorts(root.child("ports"), portRequired: false),
            labels: metadata.labels
        )
    }

    /// The `ports` of a slice or of an Endpoints subset. Endpoints require each port number; slices may leave it
    /// out to mean "all ports".
    mutating func endpointPorts(_ field: YAMLField?, portRequired: Bool) -> [EndpointPort] {
        var ports: [EndpointPort] = []
        var paths: [String] = []
        for element in mappings(field) {
            let name = name(element.child("name"), rule: Validation.dns1123Label)
            let port = port(element.child("port"), required: portRequired ? element.path(of: "port") : nil)
            ports.append(EndpointPort(name: name, port: port, protocol: portProtocol(element.child("protocol"))))
            paths.append(element.path)
        }
        // Kubernetes rejects two ports of one name: the Service port of that name would match either.
        // A dictionary of first uses, not a search of the earlier ports: the list may be any length.
        var firstOfName: [String: Int] = [:]
        for (index, port) in ports.enumerated() {
            guard let name = port.name else { continue }
            if let other = firstOfName[name] {
                report("\(paths[index]).name", "\(Validation.quoted(name)) is already used by \(paths[other])")
            } else {
                firstOfName[name] = index
            }
        }
        return ports
    }

    private mutating func addressType(_ field: YAMLField?) -> EndpointAddressType? {
        guard let field else {
            report("addressType", "required")
            return nil
        }
        guard let text = text(field) else { return nil }
        guard let type = EndpointAddressType(rawValue: text) else {
            report(field.path, "\(Validation.quoted(text)) is not an address type (IPv4, IPv6, FQDN)")
            return nil
        }
        return type
    }

    private mutating func endpoint(_ field: YAMLField, addressType: EndpointAddressType?) -> Endpoint {
        // Its path (`endpoints[3]`) written out once for the fields read below it, not once per field.
        let field = field.settled
        let conditions = mapping(field.child("conditions"))
        // v1beta1 slices carried the node and zone in `topology`; v1 moved them to fields of their own.
        let topology = stringMap(field.child("topology"))
        return Endpoint(
            addresses: addresses(field.child("addresses"), of: field, addressType: addressType),
            hostname: name(field.child("hostname"), rule: Validation.dns1123Label),
            ready: bool(conditions?.child("ready")) ?? true,
            serving: bool(conditions?.child("serving")),
            terminating: bool(conditions?.child("terminating")),
            nodeName: nonEmptyText(field.child("nodeName")) ?? topology["kubernetes.io/hostname"],
            zone: nonEmptyText(field.child("zone")) ?? topology["topology.kubernetes.io/zone"],
            podName: targetName(field.child("targetRef")),
            hintZones: hintZones(mapping(field.child("hints"))?.child("forZones"))
        )
    }

    /// `hints.forZones[].name`; at most 8, as the API server allows.
    private mutating func hintZones(_ field: YAMLField?) -> [String] {
        let hints = mappings(field)
        if hints.count > 8, let field {
            report(field.path, "\(hints.count) zones, at most 8")
        }
        return hints.prefix(8).compactMap { nonEmptyText($0.child("name")) }
    }

    private mutating func addresses(
        _ field: YAMLField?,
        of endpoint: YAMLField,
        addressType: EndpointAddressType?
    ) -> [IPAddress] {
        // FQDN slices are deprecated and DNS skips them, so their addresses are neither read nor checked.
        guard let addressType, addressType != .fqdn else { return [] }
        let elements = list(field)
        if elements.isEmpty {
            report(endpoint.path(of: "addresses"), "required (1 to 100 addresses)")
        } else if elements.count > 100 {
            report(endpoint.path(of: "addresses"), "\(elements.count) addresses, at most 100")
        }
        let family: IPFamily = addressType == .ipv4 ? .ipv4 : .ipv6
        var addresses: [IPAddress] = []
        for element in elements {
            guard let text = text(element) else { continue }
            guard let address = IPAddress(text) else {
                report(element.path, "\(Validation.quoted(text)) is not an IP address")
                continue
            }
            guard address.family == family else {
                report(
                    element.path,
                    "\(Validation.quoted(text)) is not an \(family.rawValue) address "
                        + "(addressType is \(family.rawValue))"
                )
                continue
            }
            addresses.append(address)
        }
        return addresses
    }
}
