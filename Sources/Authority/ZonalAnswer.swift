import DNSMessage

/// What a zone-following Service answers a client in a known zone (`--client-zone`).
enum ZonalAnswer {
    /// The records, the zone's first, and the additional records that go with them.
    case records(RRSet, additional: [RRSet])
    /// A Service that requires the zone has no healthy endpoint in it: no data.
    case nothingInZone
    /// The Service follows zones, but this client gets what anyone gets (its zone is unknown, or none of the
    /// Service's endpoints is healthy in it): a client elsewhere may be answered otherwise.
    case asToAnyone
}

extension Snapshot {
    /// `entry` (an A, AAAA or SRV set of the cluster zone at `key`) as a client in `clientZone` (a lowercased
    /// label) gets it, when its Service follows zones and an endpoint serves that zone: the endpoints of the zone
    /// first, then the others (only those of the zone when the Service requires it, or when `--max-answers`
    /// windows the answer). Nil: the answer does not depend on the client's zone at all. An empty `clientZone`
    /// stands for a client in no known zone.
    ///
    /// The zone's endpoints are those the zonal name `<zone>.pin._zone.<svc>` answers; a Service that requires
    /// its zone has the name `require._zone.<svc>`.
    func zonal(_ entry: NodeEntry, at key: [UInt8], in zone: Zone, clientZone: [UInt8]) -> ZonalAnswer? {
        let type = entry.rrSet.type
        guard type == .a || type == .aaaa || type == .srv, clientZone.count < 64 else { return nil }
        // An SRV set's owner is `_port._proto.<svc>…`: the zonal names hang below the Service's own name.
        var serviceKey = key[...]
        if type == .srv {
            for _ in 0..<2 {
                guard let length = serviceKey.first, length > 0 else { return nil }
                serviceKey = serviceKey.dropFirst(Int(length) + 1)
            }
        }
        let zonal = Self.zoneLabel + serviceKey
        // `_zone.<svc>` exists when the Service follows zones and an endpoint has one, or it requires its zone.
        guard zone.nodes.find(NameKey(zonal)) != nil else { return nil }
        guard !clientZone.isEmpty else { return .asToAnyone }
        let requiresZone = zone.nodes.find(NameKey(Self.requireLabel + zonal)) != nil
        let pinKey = [UInt8(clientZone.count)] + clientZone + Self.pinLabel + zonal
        guard let pin = zone.nodes.find(NameKey(pinKey)) else { return requiresZone ? .nothingInZone : .asToAnyone }

        let inZone = Set([pin.entry(of: .a), pin.entry(of: .aaaa)].compactMap { $0 }.flatMap(\.rrSet.rdata))
        let records = entry.rrSet.rdata
        let near: [RData]
        switch type {
        case .srv:
            // An SRV record is near when its target's address is: the targets' addresses are its additionals.
            let nearTargets = Set(entry.additional.filter { $0.rdata.contains(where: inZone.contains) }.map(\.owner))
            near = records.filter { record in
                guard case .srv(_, _, _, let target) = record else { return false }
                return nearTargets.contains(target)
            }
        default:
            near = records.filter(inZone.contains)
        }
        guard !near.isEmpty else { return requiresZone ? .nothingInZone : .asToAnyone }
        let nearSet = Set(near)
        let far = records.filter { !nearSet.contains($0) }
        let presented = rotator.present(
            near: near, far: far, of: entry.rrSet, counter: entry.rotation,
            onlyNear: requiresZone || rotator.maxAnswers > 0)
        let additional = entry.additional.filter { Self.targets(of: presented, include: $0.owner) }
        return .records(presented, additional: additional)
    }

    /// The labels of the zonal names, length-prefixed as in a lookup key.
    private static let zoneLabel: [UInt8] = [5] + Array("_zone".utf8)
    private static let pinLabel: [UInt8] = [3] + Array("pin".utf8)
    private static let requireLabel: [UInt8] = [7] + Array("require".utf8)
}
