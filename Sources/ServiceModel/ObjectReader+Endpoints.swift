// Reading a legacy `v1` Endpoints object, validated as the API server validates it.

extension ObjectReader {
    /// Reads an Endpoints object; the result is meaningful only when no problem was reported.
    mutating func readEndpoints(_ root: YAMLField) -> Endpoints {
        // Endpoints share their Service's name, so the Service name rule applies.
        let metadata = metadata(of: root, nameRule: Validation.dns1035Label)
        let subsets = mappings(root.child("subsets")).map { subset in
            EndpointSubset(
                addresses: mappings(subset.child("addresses")).map { endpointAddress($0) },
                notReadyAddresses: mappings(subset.child("notReadyAddresses")).map { endpointAddress($0) },
                ports: endpointPorts(subset.child("ports"), portRequired: true)
            )
        }
        return Endpoints(key: metadata.key, subsets: subsets)
    }

    private mutating func endpointAddress(_ field: YAMLField) -> EndpointAddress {
        var ip = IPAddress.v4(0)
        if let ipField = field.child("ip"), let text = text(ipField) {
            if let address = IPAddress(text) {
                ip = address
            } else {
                report(ipField.path, "\(Validation.quoted(text)) is not an IP address")
            }
        } else if field.child("ip") == nil {
            report(field.path(of: "ip"), "required")
        }
        return EndpointAddress(
            ip: ip,
            hostname: name(field.child("hostname"), rule: Validation.dns1123Label),
            nodeName: nonEmptyText(field.child("nodeName")),
            podName: targetName(field.child("targetRef"))
        )
    }
}
