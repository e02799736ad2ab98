import DNSMessage
import ServiceModel

/// The incremental build: the previous snapshot with the records of a few Services replaced.
///
/// A full build at 100,000 Services takes seconds; a change to one Service touches a handful of names.
/// Every name a Service owns in the cluster zone lies at or below `<svc>.<ns>.svc.<domain>.`, so its
/// old names can be dropped and its new ones set without looking at any other Service. PTRs may be
/// shared (two Services with one address), so they change record by record. Names that exist only
/// because of names below them come and go with their last child (`ZoneNodes` counts children).
extension SnapshotBuilder {
    /// True when the zone files leave the generated zones to svcdns: none lies inside the cluster domain
    /// or a reverse zone, and none has an SRV, MX or NS record pointing there (a full build links those
    /// targets' addresses into the zone file's answers). Otherwise every change takes a full build.
    public func allowsIncrementalUpdates(staticZones: [ZoneFileContents]) -> Bool {
        let generated = [settings.domain, ReverseName.ipv4Zone, ReverseName.ipv6Zone].map(\.lookupKey)
        func isGenerated(_ name: DomainName) -> Bool {
            let key = name.lookupKey
            return generated.contains { Snapshot.key(key, isAtOrBelow: $0) }
        }
        for zone in staticZones {
            if isGenerated(zone.origin) { return false }
            for record in zone.records {
                switch record.rdata {
                case .srv(_, _, _, let target), .mx(_, let target), .ns(let target):
                    if isGenerated(target) { return false }
                default:
                    continue
                }
            }
        }
        return true
    }

    /// `previous` with the records of the `changed` Services rebuilt from `new` (they were built from
    /// `old`). Everything else is shared with `previous`. The generated zones get `serial` in their SOA.
    ///
    /// Only valid when `previous` was built by this builder from `old` and zone files for which
    /// `allowsIncrementalUpdates` holds.
    public func update(
        _ previous: Snapshot, changing changed: Set<ObjectKey>, from old: (catalog: Catalog, health: HealthVerdicts),
        to new: (catalog: Catalog, health: HealthVerdicts), generation: UInt64, serial: UInt32
    ) -> Snapshot {
        var zones = previous.zones
        guard let clusterIndex = zones.firstIndex(where: { $0.kind == .cluster }),
            let v4Index = zones.firstIndex(where: { $0.kind == .reverse && $0.origin == ReverseName.ipv4Zone }),
            let v6Index = zones.firstIndex(where: { $0.kind == .reverse && $0.origin == ReverseName.ipv6Zone })
        else {
            preconditionFailure("an incremental update needs a snapshot from a full build")
        }
        var cluster = zones[clusterIndex].nodes
        var reverseV4 = zones[v4Index].nodes
        var reverseV6 = zones[v6Index].nodes
        var summary = previous.summary
        var failingOpen = Set(summary.failOpenServices)
        var panicking = Set(summary.panickingServices)
        var verifiedPods: PodAddresses? = nil
        if case .verified(let addresses) = zones[clusterIndex].pods { verifiedPods = addresses }

        for key in changed.sorted() {
            let before = records(of: key, in: old.catalog, health: old.health)
            let after = records(of: key, in: new.catalog, health: new.health)
            summary.subtract(before.summary)
            summary.add(after.summary)
            failingOpen.remove(key)
            if after.summary.failOpenServices.contains(key) { failingOpen.insert(key) }
            panicking.remove(key)
            if after.summary.panickingServices.contains(key) { panicking.insert(key) }
            if verifiedPods != nil {
                let before = old.catalog.services[key].map { podAddresses(of: $0, in: old.catalog) } ?? []
                let after = new.catalog.services[key].map { podAddresses(of: $0, in: new.catalog) } ?? []
                verifiedPods!.remove(before, namespace: key.namespace)
                verifiedPods!.add(after, namespace: key.namespace)
            }

            // A Service's SRV targets are its own names, so its own addresses are all the links need.
            let owned = after.table.entries(addresses: AddressIndex(tables: [after.table]))
            for (name, entries) in owned {
                cluster.setOwner(name, entries: entries)
            }
            let kept = Set(owned.map(\.key))
            for (name, _) in before.table.owners where !kept.contains(NameKey(name)) {
                cluster.removeOwner(NameKey(name))
            }

            let pointersAfter = Set(after.pointers)
            let pointersBefore = Set(before.pointers)
            for pointer in before.pointers where !pointersAfter.contains(pointer) {
                switch pointer.address {
                case .v4: Self.remove(pointer, from: &reverseV4)
                case .v6: Self.remove(pointer, from: &reverseV6)
                }
            }
            for pointer in after.pointers where !pointersBefore.contains(pointer) {
                switch pointer.address {
                case .v4: Self.add(pointer, ttl: settings.ttl, to: &reverseV4)
                case .v6: Self.add(pointer, ttl: settings.ttl, to: &reverseV6)
                }
            }
        }

        for (index, nodes) in [(clusterIndex, cluster), (v4Index, reverseV4), (v6Index, reverseV6)] {
            var nodes = nodes
            let soa = generatedSOA(origin: zones[index].origin, serial: serial)
            nodes.modify(NameKey(zones[index].originKey)) { apex in
                if let at = apex.entries.firstIndex(where: { $0.rrSet.type == .soa }) {
                    apex.entries[at] = NodeEntry(rrSet: soa, additional: [])
                }
            }
            let pods = index == clusterIndex ? verifiedPods.map(PodRecords.verified) : nil
            zones[index] = zones[index].replacing(nodes: nodes, soa: soa, pods: pods)
        }
        summary.names = zones.reduce(0) { $0 + $1.nodes.count }
        summary.failOpenServices = failingOpen.sorted()
        summary.panickingServices = panicking.sorted()
        return Snapshot(generation: generation, zones: zones, summary: summary, rotator: previous.rotator)
    }

    /// One Service's records as `catalog` and `health` make them; none when the catalog has no such Service.
    private func records(
        of key: ObjectKey, in catalog: Catalog, health: HealthVerdicts
    ) -> (table: NodeTable, pointers: [Pointer], summary: SnapshotSummary) {
        var table = NodeTable(origin: settings.domain)
        var pointers: [Pointer] = []
        var summary = SnapshotSummary()
        if let service = catalog.services[key] {
            addRecords(of: service, in: catalog, health: health, to: &table, pointers: &pointers, summary: &summary)
        }
        return (table, pointers, summary)
    }

    private static func add(_ pointer: Pointer, ttl: UInt32, to nodes: inout ZoneNodes) {
        let owner = pointer.owner
        let key = NameKey(owner.lookupKey)
        let rdata = RData.ptr(pointer.target)
        let found = nodes.modify(key) { node in
            node.isDerived = false
            guard let at = node.entries.firstIndex(where: { $0.rrSet.type == .ptr }) else {
                node.entries.append(NodeEntry(rrSet: RRSet(owner: owner, type: .ptr, ttl: ttl, rdata: [rdata]), additional: []))
                return
            }
            var set = node.entries[at].rrSet
            guard !set.rdata.contains(rdata) else { return }
            set.rdata.append(rdata)
            node.entries[at] = NodeEntry(rrSet: set, additional: [])
        }
        if !found {
            nodes.setOwner(key, entries: [NodeEntry(rrSet: RRSet(owner: owner, type: .ptr, ttl: ttl, rdata: [rdata]), additional: [])])
        }
    }

    private static func remove(_ pointer: Pointer, from nodes: inout ZoneNodes) {
        let key = NameKey(pointer.owner.lookupKey)
        let rdata = RData.ptr(pointer.target)
        var emptied = false
        nodes.modify(key) { node in
            guard let at = node.entries.firstIndex(where: { $0.rrSet.type == .ptr }) else { return }
            var set = node.entries[at].rrSet
            set.rdata.removeAll { $0 == rdata }
            if set.rdata.isEmpty {
                node.entries.remove(at: at)
                emptied = node.entries.isEmpty
            } else {
                node.entries[at] = NodeEntry(rrSet: set, additional: [])
            }
        }
        if emptied { nodes.removeOwner(key) }
    }
}

extension SnapshotSummary {
    /// Adds what one Service contributed (names and static zones are counted by the build itself).
    mutating func add(_ other: SnapshotSummary) {
        services += other.services
        headlessServices += other.headlessServices
        externalNames += other.externalNames
        endpointAddresses += other.endpointAddresses
        prunedEndpoints += other.prunedEndpoints
    }

    mutating func subtract(_ other: SnapshotSummary) {
        services -= other.services
        headlessServices -= other.headlessServices
        externalNames -= other.externalNames
        endpointAddresses -= other.endpointAddresses
        prunedEndpoints -= other.prunedEndpoints
    }
}
