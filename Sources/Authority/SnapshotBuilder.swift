import DNSMessage
import ServiceModel

/// Catalog + zone files → Snapshot. Runs off the query path; everything a query needs is worked out
/// here once (names, PTRs, SRV targets with their addresses linked, negative-answer SOAs).
///
/// The names follow the Kubernetes DNS-Based Service Discovery specification 1.1.0
/// (`shared/k8s-dns-schema.md` in the design notes).
public struct SnapshotBuilder: Sendable {
    public let settings: ClusterSettings

    public init(settings: ClusterSettings) {
        self.settings = settings
    }

    /// The schema version `dns-version.<domain>.` answers (spec §2.1).
    public static let schemaVersion = "1.1.0"

    /// Builds a complete snapshot. `serial` goes into every SOA svcdns makes; it must grow with each
    /// build so secondaries and caches that compare serials see the change.
    ///
    /// `health` prunes endpoints the health checker found down or not yet up, unless none of a
    /// Service's endpoints is servable and `settings.failOpen` is set.
    public func build(
        catalog: Catalog, staticZones: [ZoneFileContents], health: HealthVerdicts = HealthVerdicts(), generation: UInt64,
        serial: UInt32
    ) -> Snapshot {
        var summary = SnapshotSummary()
        let domain = settings.domain
        let ttl = settings.ttl
        // Each Service owns its name and an SRV name or two; each endpoint a hostname and a PTR.
        let services = catalog.services.count
        let endpoints = catalog.endpointSlices.values.reduce(0) { $0 + $1.endpoints.count }
        var packer = ZonePacker(expectedSets: 3 * services + 2 * endpoints)

        // The apex and the fixed names of the schema. They go in after the Services, except one that a Service
        // also owns (a --nameserver named like a Service): its records join that Service's.
        var fixed = NodeTable(origin: domain)
        fixed.add(generatedSOA(origin: domain, serial: serial))
        fixed.add(domain, .ns, ttl: ttl, .ns(settings.nameServer))
        for address in settings.nameServerAddresses {
            fixed.add(settings.nameServer, address.recordType, ttl: ttl, address.rdata)
        }
        fixed.add(domain.prepending("dns-version")!, .txt, ttl: ttl, .txt([Array(Self.schemaVersion.utf8)]))
        fixed.addEmpty(domain.prepending("svc")!)
        fixed.addEmpty(domain.prepending("pod")!)
        let fixedOwners = Set(fixed.owners.map { NameKey($0.key) })
        var joined: Set<NameKey> = []

        // Each Service's names are packed as soon as they are made: no table of the whole cluster is kept.
        packer.beginZone(origin: domain, expectedNames: 3 * services + endpoints)
        var pointers = PointerList()
        var podAddresses = PodAddresses()
        for service in catalog.services.values.sorted(by: { $0.key < $1.key }) {
            podAddresses.add(self.podAddresses(of: service, in: catalog), namespace: service.key.namespace)
            var table = NodeTable(origin: domain)
            var servicePointers: [Pointer] = []
            addRecords(of: service, in: catalog, health: health, to: &table, pointers: &servicePointers, summary: &summary)
            for key in fixedOwners where table.ownerIndex(of: key) != nil {
                fixed.sets(of: key).forEach { table.add($0) }
                joined.insert(key)
            }
            let firstSets = packer.add(table)
            for pointer in servicePointers {
                let target = table.ownerIndex(of: NameKey(pointer.target.lookupKey)).map { firstSets[$0] } ?? -1
                pointers.append(pointer, targetSet: target)
            }
        }
        packer.add(fixed, skipping: joined)

        let reverseZones = [ReverseName.ipv4Zone, ReverseName.ipv6Zone]
        for (origin, family) in zip(reverseZones, pointers.byFamily) {
            packer.beginZone(origin: origin, expectedNames: family.count)
            // NS beside the SOA: a secondary (Knot, NSD) refuses a zone without NS at its apex (RFC 1034 §4.2.1).
            packer.addOwner(
                key: origin.lookupKey,
                sets: [generatedSOA(origin: origin, serial: serial), RRSet(owner: origin, type: .ns, ttl: ttl, rdata: [.ns(settings.nameServer)])]
            )
            PointerList.forEachOwner(of: family) { address, targets in
                let owner = ReverseName.of(address)
                if targets.allSatisfy({ $0 >= 0 }) {
                    packer.addPointers(owner: owner, ttl: ttl, targets: targets)
                } else {
                    let rdata = targets.map { RData.ptr(pointers.name(of: $0, in: packer)) }
                    packer.addOwner(key: owner.lookupKey, sets: [RRSet(owner: owner, type: .ptr, ttl: ttl, rdata: rdata)])
                }
            }
        }

        var kinds: [Zone.Kind] = [.cluster, .reverse, .reverse]
        var origins = [domain] + reverseZones
        var soas = origins.map { generatedSOA(origin: $0, serial: serial) }
        for zone in staticZones {
            var table = NodeTable(origin: zone.origin)
            let soa = RRSet(owner: zone.origin, type: .soa, ttl: zone.soaTTL, rdata: [.soa(zone.soa)])
            for record in zone.records {
                table.add(record.owner, record.type, ttl: record.ttl, record.rdata)
            }
            table.add(soa)
            packer.beginZone(origin: zone.origin)
            packer.add(table)
            kinds.append(.file)
            origins.append(zone.origin)
            soas.append(soa)
            summary.staticZones += 1
        }

        // Additionals are linked across every zone, so an SRV in a zone file pointing at a Service finds it.
        var zones: [Zone] = []
        for (index, packed) in packer.finish().enumerated() {
            let nodes = ZoneNodes(packed: packed, originLength: origins[index].wire.count)
            summary.names += nodes.count
            let owned = kinds[index] == .reverse && settings.forwardsUnknownReverseNames ? settings.serviceNetworks : nil
            zones.append(
                Zone(
                    kind: kinds[index], origin: origins[index], soa: soas[index], nodes: nodes, recordTTL: ttl,
                    ownedNetworks: owned, pods: podRecords(podAddresses)
                )
            )
        }
        let rotator = Rotator(mode: settings.rotation, maxAnswers: settings.maxAnswers)
        return Snapshot(generation: generation, zones: zones, summary: summary, rotator: rotator)
    }

    /// The cluster zone's pod names as `--pods` has them; `addresses` matter only when verified.
    func podRecords(_ addresses: PodAddresses) -> PodRecords {
        switch settings.podRecords {
        case .insecure: .insecure
        case .verified: .verified(addresses)
        case .disabled: .disabled
        }
    }

    /// The SOA of a zone svcdns generates (the cluster zone and the reverse zones).
    /// Its TTL and MINIMUM are `--negative-ttl`, so a negative answer (whose SOA has the smaller of the two, RFC
    /// 2308 §3) is cached for exactly that long, whatever `--ttl` is.
    func generatedSOA(origin: DomainName, serial: UInt32) -> RRSet {
        let soa = SOAData(
            mname: settings.nameServer, rname: settings.hostmaster, serial: serial,
            refresh: 7200, retry: 1800, expire: 86400, minimum: settings.negativeTTL
        )
        return RRSet(owner: origin, type: .soa, ttl: settings.negativeTTL, rdata: [.soa(soa)])
    }

    /// A PTR one Service puts in a reverse zone.
    struct Pointer: Hashable {
        var address: IPAddress
        var target: DomainName
        var owner: DomainName { ReverseName.of(address) }
    }

    /// Everything one Service puts into the snapshot: its names in the cluster zone, all at or below
    /// `<svc>.<ns>.svc.<domain>.` (so no other Service shares them), and its PTRs (which it may share).
    /// The full build and the incremental one both go through here, so they cannot disagree.
    func addRecords(
        of service: Service, in catalog: Catalog, health: HealthVerdicts, to cluster: inout NodeTable,
        pointers: inout [Pointer], summary: inout SnapshotSummary
    ) {
        guard settings.exposure.admits(service), let serviceName = Self.serviceName(service.key, domain: settings.domain)
        else { return }
        // `svcdns.io/ttl` sets the TTL of its names. Its PTRs keep `--ttl`: a reverse name may be several
        // Services' at once, and one RRset has one TTL.
        let ttl = service.recordTTL ?? settings.ttl
        summary.services += 1
        if service.type == .externalName {
            summary.externalNames += 1
            if let target = service.externalName.flatMap({ DomainName($0) }) {
                cluster.add(serviceName, .cname, ttl: ttl, .cname(target))
            }
            return
        }
        if service.isHeadless {
            summary.headlessServices += 1
            let endpoints = servedEndpoints(of: service, in: catalog, health: health, summary: &summary)
            cluster.addEmpty(serviceName)
            // The Service's own named ports exist as names even with no endpoint behind them: NODATA,
            // not NXDOMAIN, while a Service has no ready endpoint.
            for port in service.ports {
                if let name = port.name, !name.isEmpty,
                    let owner = Self.srvName(PortKey(name: name, protocol: port.protocol), under: serviceName)
                {
                    cluster.addEmpty(owner)
                }
            }
            var srvRecords: [PortKey: [(port: Int, target: DomainName, weight: Int)]] = [:]
            // Each address RRset's records' weights, in the order they are added (`svcdns.io/weights`).
            var aWeights: [Int] = []
            var aaaaWeights: [Int] = []
            var seenPointers: Set<Pointer> = []
            for endpoint in endpoints {
                guard let hostName = serviceName.prepending(hostLabel(of: endpoint)) else { continue }
                let weight =
                    service.weights?.weight(
                        hostname: endpoint.hostname, podName: endpoint.podName, address: endpoint.address, of: service.key,
                        health: health) ?? 1
                cluster.add(serviceName, endpoint.address.recordType, ttl: ttl, endpoint.address.rdata)
                switch endpoint.address {
                case .v4: aWeights.append(weight)
                case .v6: aaaaWeights.append(weight)
                }
                cluster.add(hostName, endpoint.address.recordType, ttl: ttl, endpoint.address.rdata)
                let pointer = Pointer(address: endpoint.address, target: hostName)
                if seenPointers.insert(pointer).inserted { pointers.append(pointer) }
                for port in endpoint.ports {
                    guard let name = port.name, !name.isEmpty, let number = port.port else { continue }
                    let key = PortKey(name: name, protocol: port.protocol)
                    // A dual-stack endpoint's two addresses share its name: one SRV record.
                    guard srvRecords[key]?.contains(where: { $0.port == number && $0.target == hostName }) != true else { continue }
                    srvRecords[key, default: []].append((number, hostName, weight))
                }
            }
            if service.topology != nil {
                addZonalNames(of: service, named: serviceName, serving: endpoints, in: catalog, ttl: ttl, to: &cluster)
            }
            let weighted = service.weights != nil
            if weighted {
                cluster.setLeaders(serviceName, .a, RotationCounter.leaders(weights: aWeights))
                cluster.setLeaders(serviceName, .aaaa, RotationCounter.leaders(weights: aaaaWeights))
            }
            for (key, records) in srvRecords.sorted(by: { ($0.key.name, $0.key.protocol.dnsLabel) < ($1.key.name, $1.key.protocol.dnsLabel) }) {
                guard let owner = Self.srvName(key, under: serviceName) else { continue }
                // CoreDNS's weighting: records of one priority share 100 between them. Weighted Services carry
                // each endpoint's own weight (RFC 2782), and lead in proportion to it.
                let shared = UInt16(max(1, 100 / records.count))
                for record in records {
                    let weight = weighted ? UInt16(record.weight) : shared
                    cluster.add(
                        owner, .srv, ttl: ttl,
                        .srv(priority: 0, weight: weight, port: UInt16(record.port), target: record.target)
                    )
                }
                if weighted { cluster.setLeaders(owner, .srv, RotationCounter.leaders(weights: records.map(\.weight))) }
            }
            return
        }
        for address in service.clusterIPs {
            cluster.add(serviceName, address.recordType, ttl: ttl, address.rdata)
            let pointer = Pointer(address: address, target: serviceName)
            if !pointers.contains(pointer) { pointers.append(pointer) }
        }
        cluster.addEmpty(serviceName)
        for port in service.ports {
            // Spec §2.3.1: unnamed ports have no SRV records.
            guard let name = port.name, !name.isEmpty,
                let owner = Self.srvName(PortKey(name: name, protocol: port.protocol), under: serviceName)
            else { continue }
            cluster.add(owner, .srv, ttl: ttl, .srv(priority: 0, weight: 100, port: UInt16(port.port), target: serviceName))
        }
    }

    /// CoreDNS's zonal names of a Service that follows zones, one pair per zone an endpoint serves (its own, or
    /// one its hints name): `<zone>.pin._zone.<svc>…` answers the zone's served endpoints only (NODATA when none is
    /// healthy), `<zone>.prefer._zone.<svc>…` those, or every served endpoint when none there is (not for a Service
    /// that requires the zone).
    private func addZonalNames(
        of service: Service, named serviceName: DomainName, serving endpoints: [CatalogEndpoint], in catalog: Catalog,
        ttl: UInt32, to cluster: inout NodeTable
    ) {
        var zones: [String] = []
        var seen: Set<String> = []
        for endpoint in catalog.offeredEndpoints(of: service) {
            for zone in (endpoint.zone.map { [$0] } ?? []) + endpoint.hintZones where seen.insert(zone).inserted {
                zones.append(zone)
            }
        }
        guard let zoneLabel = serviceName.prepending("_zone") else { return }
        // `require._zone.<svc>…` (no records) marks a Service that requires the zone: a client in a zone none of its
        // endpoints serves gets no data from it rather than every endpoint.
        if service.topology == .requireZone, let marker = zoneLabel.prepending("require") {
            cluster.addEmpty(marker)
        }
        for zone in zones {
            guard let pin = zoneLabel.prepending("pin")?.prepending(zone),
                let prefer = zoneLabel.prepending("prefer")?.prepending(zone)
            else { continue }
            let inZone = endpoints.filter { $0.serves(zone: zone) }
            cluster.addEmpty(pin)
            for endpoint in inZone {
                cluster.add(pin, endpoint.address.recordType, ttl: ttl, endpoint.address.rdata)
            }
            // A Service that requires the zone never answers outside it: no `prefer` names.
            guard service.topology != .requireZone else { continue }
            cluster.addEmpty(prefer)
            for endpoint in inZone.isEmpty ? endpoints : inZone {
                cluster.add(prefer, endpoint.address.recordType, ttl: ttl, endpoint.address.rdata)
            }
        }
    }

    /// `<svc>.<ns>.svc.<domain>.`
    static func serviceName(_ key: ObjectKey, domain: DomainName) -> DomainName? {
        domain.prepending("svc")?.prepending(key.namespace)?.prepending(key.name)
    }

    /// `_<port>._<proto>.<service name>.`
    static func srvName(_ key: PortKey, under serviceName: DomainName) -> DomainName? {
        serviceName.prepending("_" + key.protocol.dnsLabel)?.prepending("_" + key.name)
    }

    /// The addresses a headless Service answers with: those it offers (see `Catalog.offeredEndpoints`)
    /// that the health checker has not ruled out. When it rules out all of them, fail open: all of them,
    /// as Route 53 multivalue answers do, unless `settings.failOpen` is off. When it leaves fewer than the panic
    /// threshold's percentage, panic: all of them too, so a few survivors do not take every client.
    func servedEndpoints(
        of service: Service, in catalog: Catalog, health: HealthVerdicts, summary: inout SnapshotSummary
    ) -> [CatalogEndpoint] {
        let offered = catalog.offeredEndpoints(of: service)
        let healthy = offered.filter { health.isServable(EndpointID(service: service.key, address: $0.address)) }
        summary.prunedEndpoints += offered.count - healthy.count
        if healthy.isEmpty && !offered.isEmpty && settings.failOpen {
            summary.failOpenServices.append(service.key)
            summary.endpointAddresses += offered.count
            return offered
        }
        let threshold = service.panicThreshold ?? settings.panicThreshold
        if !healthy.isEmpty && healthy.count < offered.count && healthy.count * 100 < threshold * offered.count {
            summary.panickingServices.append(service.key)
            summary.endpointAddresses += offered.count
            return offered
        }
        summary.endpointAddresses += healthy.count
        return healthy
    }
}

/// The PTRs of a full build, kept small until the reverse zones are packed: per address, the store index of an
/// RRset of its target (the target's name is that RRset's owner), in the order the Services made them.
struct PointerList {
    private var v4: [(address: IPAddress, sequence: Int32, target: Int32)] = []
    private var v6: [(address: IPAddress, sequence: Int32, target: Int32)] = []
    /// Targets that own no RRset (none do today), by name: referred to as -1 - their place here.
    private var namedTargets: [DomainName] = []

    mutating func append(_ pointer: SnapshotBuilder.Pointer, targetSet: Int32) {
        var target = targetSet
        if target < 0 {
            namedTargets.append(pointer.target)
            target = -Int32(namedTargets.count)
        }
        switch pointer.address {
        case .v4: v4.append((pointer.address, Int32(v4.count), target))
        case .v6: v6.append((pointer.address, Int32(v6.count), target))
        }
    }

    /// The IPv4 pointers and the IPv6 ones, each sorted by address (and then in the order they came).
    var byFamily: [[(address: IPAddress, sequence: Int32, target: Int32)]] {
        [v4, v6].map { family in family.sorted { ($0.address, $0.sequence) < ($1.address, $1.sequence) } }
    }

    /// Calls `body` once per address of a sorted family, with the targets of its pointers.
    static func forEachOwner(
        of family: [(address: IPAddress, sequence: Int32, target: Int32)], _ body: (IPAddress, [Int32]) -> Void
    ) {
        var start = 0
        while start < family.count {
            var end = start + 1
            while end < family.count && family[end].address == family[start].address { end += 1 }
            body(family[start].address, family[start..<end].map(\.target))
            start = end
        }
    }

    /// The name a target stands for.
    func name(of target: Int32, in packer: ZonePacker) -> DomainName {
        target >= 0 ? packer.owner(ofSet: target) : namedTargets[Int(-target - 1)]
    }
}

/// A port as SRV names see it: `_<name>._<protocol>`.
struct PortKey: Hashable {
    var name: String
    var `protocol`: PortProtocol
}

extension SnapshotBuilder {
    /// Spec §2.4.1: the endpoint's hostname, else its address with dashes. With `--endpoint-pod-names`, its pod's
    /// name comes before the address when it is a DNS label (CoreDNS's `endpoint_pod_names`); a pod name with
    /// dots or over 63 characters cannot be one label, so the address is used.
    func hostLabel(of endpoint: CatalogEndpoint) -> String {
        if let hostname = endpoint.hostname { return hostname }
        if settings.endpointPodNames, let pod = endpoint.podLabel { return pod }
        return endpoint.address.dashed
    }
}

extension IPAddress {
    var recordType: RecordType {
        switch self {
        case .v4: .a
        case .v6: .aaaa
        }
    }

    var rdata: RData {
        switch self {
        case .v4(let value):
            .a(IPv4Bytes(UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)))
        case .v6(let high, let low):
            .aaaa(IPv6Bytes(high: high, low: low))
        }
    }
}
