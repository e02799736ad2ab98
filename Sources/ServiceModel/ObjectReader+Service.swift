// Reading a `v1` Service: the fields DNS needs, validated as the API server validates them.

extension ObjectReader {
    /// Reads a Service; the result is meaningful only when no problem was reported.
    mutating func readService(_ root: YAMLField) -> Service {
        let metadata = metadata(of: root, nameRule: Validation.dns1035Label)
        let spec = mapping(root.child("spec"))
        let type = serviceType(spec?.child("type"))
        var service = Service(key: metadata.key, type: type, annotations: metadata.annotations, labels: metadata.labels)
        let clusterIP = spec?.child("clusterIP")
        let clusterIPs = list(spec?.child("clusterIPs"))
        if type == .externalName {
            service.externalName = externalName(spec?.child("externalName"), path: "spec.externalName")
            // Kubernetes rejects a ClusterIP on an ExternalName Service: it would answer A queries, not CNAME.
            if let clusterIP, nonEmptyText(clusterIP) != nil {
                report(clusterIP.path, "must not be set for an ExternalName Service")
            }
            if !clusterIPs.isEmpty {
                report("spec.clusterIPs", "must not be set for an ExternalName Service")
            }
        } else {
            let problemsBefore = problems.count
            (service.clusterIPs, service.isHeadless) = readClusterIPs(clusterIP, clusterIPs, type: type)
            // Compared only when every ClusterIP read; otherwise the families would be matched to the wrong entries.
            let compare = !service.isHeadless && problems.count == problemsBefore
            checkIPFamilies(
                spec?.child("ipFamilies"),
                against: compare ? service.clusterIPs : [],
                listed: !clusterIPs.isEmpty
            )
        }
        service.ports = servicePorts(spec?.child("ports"))
        service.publishNotReadyAddresses = bool(spec?.child("publishNotReadyAddresses")) ?? false
        let (healthCheck, healthProblems) = HealthCheckOverrides.parse(metadata.annotations)
        for problem in healthProblems {
            report("metadata.annotations[\(problem.key)]", problem.reason)
        }
        service.healthCheck = healthCheck
        if let ttl = number(in: metadata.annotations, Service.ttlKey, range: Service.ttlRange, "a TTL from 0 to 3600 seconds") {
            service.recordTTL = UInt32(ttl)
        }
        if let text = metadata.annotations[EndpointWeights.annotationKey] {
            do {
                service.weights = try EndpointWeights(parsing: text)
            } catch {
                report("metadata.annotations[\(EndpointWeights.annotationKey)]", error.description)
            }
        }
        service.topology = topology(spec?.child("trafficDistribution"), annotations: metadata.annotations)
        service.panicThreshold = number(
            in: metadata.annotations, Service.panicThresholdKey, range: Service.panicThresholdRange, "a percentage from 0 to 100")
        return service
    }

    /// `svcdns.io/topology` when set, else what `spec.trafficDistribution` means for zones: `PreferSameZone` and
    /// `PreferClose` prefer the zone, `PreferSameNode` says nothing about zones here.
    private mutating func topology(_ field: YAMLField?, annotations: [String: String]) -> TopologyMode? {
        var mode: TopologyMode? = nil
        if let field, let text = text(field) {
            switch text {
            case "PreferSameZone", "PreferClose": mode = .preferZone
            case "PreferSameNode": mode = nil
            default:
                report(field.path, "\(Validation.quoted(text)) is not a traffic distribution (PreferSameZone, PreferClose, PreferSameNode)")
            }
        }
        if let text = annotations[TopologyMode.annotationKey] {
            guard let annotated = TopologyMode(rawValue: text) else {
                report(
                    "metadata.annotations[\(TopologyMode.annotationKey)]",
                    "\(Validation.quoted(text)) is not prefer-zone or require-zone")
                return mode
            }
            mode = annotated
        }
        return mode
    }

    /// The annotation `key` as a decimal number within `range`; nil when absent, and reported (as not `what`) when
    /// it is anything else.
    private mutating func number(
        in annotations: [String: String], _ key: String, range: ClosedRange<Int>, _ what: String
    ) -> Int? {
        guard let text = annotations[key] else { return nil }
        let digits = String(range.upperBound).count
        guard text.count <= digits, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), range.contains(value)
        else {
            report("metadata.annotations[\(key)]", "\(Validation.quoted(text)) is not \(what)")
            return nil
        }
        return value
    }

    private mutating func serviceType(_ field: YAMLField?) -> ServiceType {
        guard let field, let text = text(field) else { return .clusterIP }
        guard let type = ServiceType(rawValue: text) else {
            report(
                field.path,
                "\(Validation.quoted(text)) is not a Service type (ClusterIP, NodePort, LoadBalancer, ExternalName)"
            )
            return .clusterIP
        }
        return type
    }

    /// `spec.externalName`, lower case and without the one trailing dot Kubernetes tolerates.
    private mutating func externalName(_ field: YAMLField?, path: String) -> String? {
        guard let field, let text = nonEmptyText(field) else {
            report(path, "required for an ExternalName Service")
            return nil
        }
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if let reason = Validation.dns1123Subdomain(name) {
            report(field.path, reason)
        }
        return name
    }

    /// `spec.clusterIP` and `spec.clusterIPs`: one address, or one per family, or `None` alone.
    private mutating func readClusterIPs(
        _ clusterIP: YAMLField?,
        _ clusterIPs: [YAMLField],
        type: ServiceType
    ) -> (addresses: [IPAddress], isHeadless: Bool) {
        let single = clusterIP.flatMap { nonEmptyText($0) }
        // spec.clusterIPs is the newer field and holds both families; spec.clusterIP mirrors its first entry.
        let entries: [(field: YAMLField, text: String?)] =
            clusterIPs.isEmpty
            ? clusterIP.map { [($0, single)] } ?? []
            : clusterIPs.map { ($0, text($0)) }
        if let single, !clusterIPs.isEmpty, let first = entries[0].text, first != single {
            report(
                clusterIPs[0].path,
                "\(Validation.quoted(first)) differs from spec.clusterIP \(Validation.quoted(single))"
            )
        }
        guard let primary = entries.first?.text, !primary.isEmpty else {
            report(
                "spec.clusterIP",
                "required: svcdns does not allocate ClusterIPs (write the address, or \"None\" for a headless Service)"
            )
            return ([], false)
        }
        if clusterIPs.count > 2 {
            report("spec.clusterIPs", "\(clusterIPs.count) entries, at most 2 (one per IP family)")
        }
        if primary == "None" {
            if entries.count > 1 {
                report("spec.clusterIPs", "\"None\" must be the only entry")
            }
            if type != .clusterIP {
                report(entries[0].field.path, "\"None\" (headless) needs spec.type ClusterIP, not \(type.rawValue)")
            }
            return ([], true)
        }
        var addresses: [IPAddress] = []
        for (index, (field, text)) in entries.enumerated() {
            guard let text else { continue }
            if text == "None" {
                report(field.path, "\"None\" must be the only entry")
            } else if let address = IPAddress(text) {
                if index == 1, let first = addresses.first, first.family == address.family {
                    report(
                        field.path,
                        "\(Validation.quoted(text)) is \(address.family.rawValue) like spec.clusterIPs[0] "
                            + "(a dual-stack Service has one IPv4 and one IPv6 address)"
                    )
                }
                addresses.append(address)
            } else {
                report(field.path, "\(Validation.quoted(text)) is not an IP address")
            }
        }
        return (addresses, false)
    }

    /// `spec.ipFamilies` must name the family of each ClusterIP, in order (`listed`: they came from `clusterIPs`).
    private mutating func checkIPFamilies(_ field: YAMLField?, against addresses: [IPAddress], listed: Bool) {
        let families = list(field)
        if families.count > 2 {
            report(field?.path ?? "spec.ipFamilies", "\(families.count) entries, at most 2 (IPv4 and IPv6)")
        }
        for (index, familyField) in families.enumerated() {
            guard let text = text(familyField) else { continue }
            guard let family = IPFamily(rawValue: text) else {
                report(familyField.path, "\(Validation.quoted(text)) is not an IP family (IPv4, IPv6)")
                continue
            }
            guard index < addresses.count, addresses[index].family != family else { continue }
            let addressPath = !listed ? "spec.clusterIP" : "spec.clusterIPs[\(index)]"
            report(
                familyField.path,
                "\(text) does not match \(addressPath) \(Validation.quoted("\(addresses[index])"))"
            )
        }
    }

    private mutating func servicePorts(_ field: YAMLField?) -> [ServicePort] {
        let elements = list(field)
        var ports: [ServicePort] = []
        var paths: [String] = []
        for element in elements {
            guard let element = mapping(element) else { continue }
            let name = name(element.child("name"), rule: Validation.dns1123Label)
            let port = port(element.child("port"), required: element.path(of: "port"))
            let portProtocol = portProtocol(element.child("protocol"))
            let targetPort = targetPort(element.child("targetPort"))
            // Kubernetes requires names once there are two ports: SRV records and named targetPorts refer to them.
            if name == nil, elements.count > 1 {
                report(element.path(of: "name"), "required when a Service has more than one port")
            }
            if let port {
                ports.append(ServicePort(name: name, port: port, protocol: portProtocol, targetPort: targetPort))
                paths.append(element.path)
            }
        }
        // First use of each name and port, looked up rather than searched for: a body or file may list any
        // number of ports, and comparing each with every earlier one took seconds of CPU for 60,000.
        var firstOfName: [String: Int] = [:]
        var firstOfPort: [PortKey: Int] = [:]
        for (index, port) in ports.enumerated() {
            if let name = port.name {
                if let other = firstOfName[name] {
                    report("\(paths[index]).name", "\(Validation.quoted(name)) is already used by \(paths[other])")
                } else {
                    firstOfName[name] = index
                }
            }
            let key = PortKey(port: port.port, portProtocol: port.protocol)
            if let other = firstOfPort[key] {
                report(paths[index], "\(port.port)/\(port.protocol.rawValue) is already used by \(paths[other])")
            } else {
                firstOfPort[key] = index
            }
        }
        return ports
    }

    /// `targetPort` is an IntOrString. Digits read as a number even when quoted, because a manifest written by
    /// hand often quotes it, and a name must contain a letter anyway.
    private mutating func targetPort(_ field: YAMLField?) -> TargetPort? {
        guard let field, let text = nonEmptyText(field) else { return nil }
        if let number = Self.integer(text) {
            if let reason = Validation.port(number, text: text) { report(field.path, reason) }
            return .number(number)
        }
        if let reason = Validation.ianaServiceName(text) { report(field.path, reason) }
        return .name(text)
    }
}

/// A Service port's number and protocol: two ports may not share both.
private struct PortKey: Hashable {
    var port: Int
    var portProtocol: PortProtocol
}
