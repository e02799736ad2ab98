import DNSMessage
import ServiceModel

/// An authoritative answer, and where it left off when a CNAME led outside every zone svcdns serves.
public struct AuthoritativeAnswer: Hashable, Sendable {
    public var response: Response
    /// The last CNAME target when it lies outside svcdns's zones: a forwarder may continue from there.
    public var targetOutsideZones: DomainName?
    /// True when a client in another zone could get other records: the answer came from a Service that follows
    /// zones, so a resolver must not give it to clients of other subnets (RFC 7871 scope).
    public var variesByClientZone = false
}

extension Snapshot {
    /// RFC 1034 §3.6.2 asks servers to guard against CNAME loops; 8 links is what CoreDNS follows.
    static let maxCNAMEChain = 8

    /// Answers `name`/`type` from this snapshot: the query path's lookup stage.
    ///
    /// Returns nil when the name is outside every zone (the caller forwards or refuses it). Follows
    /// CNAMEs through every zone served; the rcode and negative SOA are those of the last name reached.
    /// Reads only immutable data; the synthesised records of pod names are the only allocation. `clientZone` (a
    /// lowercased label: `--client-zone`; empty for a client in no known zone) puts a zone-following Service's
    /// endpoints of that zone first.
    public func answer(name: DomainName, type: RecordType, clientZone: [UInt8]? = nil) -> AuthoritativeAnswer? {
        var key = name.lookupKey
        guard var zone = zone(containing: key) else { return nil }
        if let owned = zone.ownedNetworks, zone.nodes.find(NameKey(key)) == nil, let address = ReverseName.address(of: key),
            !ReverseName.isLoopback(address), !owned.contains(where: { $0.contains(address) })
        {
            // An address outside the service networks that svcdns does not know: another resolver's to answer.
            return nil
        }
        var currentName = name
        var response = Response(authoritative: true)
        for _ in 0...Self.maxCNAMEChain {
            switch zone.find(key: key, name: currentName, type: type) {
            case .answer(let entry):
                var varies = false
                if let clientZone, zone.kind == .cluster, let zonal = zonal(entry, at: key, in: zone, clientZone: clientZone) {
                    switch zonal {
                    case .records(let set, let additional):
                        response.answer.append(set)
                        response.additional += additional
                        return AuthoritativeAnswer(response: response, variesByClientZone: true)
                    case .nothingInZone:
                        response.authority = [zone.negativeSOA]
                        return AuthoritativeAnswer(response: response, variesByClientZone: true)
                    case .asToAnyone:
                        varies = true
                    }
                }
                let presented = rotator.present(entry.rrSet, counter: entry.rotation)
                response.answer.append(presented)
                let windowed = presented.presentedCount < presented.recordCount
                // The additionals were linked once per target when the zone was built, so there is
                // nothing to de-duplicate here (checking each against the others was quadratic: half a
                // million comparisons for the SRV set of a Service with 1,000 endpoints).
                for set in entry.additional {
                    // With --max-answers, only the targets of the records that go out come along.
                    if windowed && !Self.targets(of: presented, include: set.owner) { continue }
                    response.additional.append(set)
                }
                return AuthoritativeAnswer(response: response, variesByClientZone: varies)
            case .noData:
                response.authority = [zone.negativeSOA]
                return AuthoritativeAnswer(response: response)
            case .nameError:
                response.rcode = .nameError
                response.authority = [zone.negativeSOA]
                return AuthoritativeAnswer(response: response)
            case .referral(let nsEntry):
                response.authoritative = !response.answer.isEmpty
                response.authority = [nsEntry.rrSet]
                response.additional = Array(nsEntry.additional)
                return AuthoritativeAnswer(response: response)
            case .alias(let cname):
                response.answer.append(cname)
                guard case .cname(let target) = cname.rdata.first else {
                    return AuthoritativeAnswer(response: response)
                }
                let targetKey = target.lookupKey
                guard let next = self.zone(containing: targetKey) else {
                    return AuthoritativeAnswer(response: response, targetOutsideZones: target)
                }
                zone = next
                key = targetKey
                currentName = target
            }
        }
        return AuthoritativeAnswer(response: response)
    }
}

extension Snapshot {
    /// True when one of the records `set` presents names `owner` as its SRV, MX or NS target.
    static func targets(of set: RRSet, include owner: DomainName) -> Bool {
        let records = set.rdata
        for position in 0..<set.presentedCount {
            switch records[(set.firstRecord + position) % records.count] {
            case .srv(_, _, _, let target), .mx(_, let target), .ns(let target):
                if target == owner { return true }
            default:
                continue
            }
        }
        return false
    }
}

/// What one name in one zone yields for one type.
enum ZoneMatch {
    case answer(NodeEntry)
    case alias(RRSet)
    case noData
    case nameError
    case referral(NodeEntry)
}

extension Zone {
    func find(key: [UInt8], name: DomainName, type: RecordType) -> ZoneMatch {
        if !delegations.isEmpty, let cut = delegation(above: key, type: type) {
            return .referral(cut)
        }
        guard let node = nodes.find(NameKey(key)) ?? synthesize(key: key, name: name).map(FoundNode.value) else {
            return .nameError
        }
        if type == .any {
            // RFC 8482 §4.2: answer ANY with one RRset rather than everything.
            return node.firstEntry.map { .answer($0) } ?? .noData
        }
        if let entry = node.entry(of: type) { return .answer(entry) }
        if let alias = node.entry(of: .cname) { return .alias(alias.rrSet) }
        return .noData
    }

    /// The NS RRset of a zone cut at or above `key` (below the apex): the data below it is not ours.
    /// At the cut itself, a DS query still belongs to the parent (RFC 4035 §3.1.4.1).
    private func delegation(above key: [UInt8], type: RecordType) -> NodeEntry? {
        var ancestor = key
        var found: NodeEntry? = nil
        while ancestor.count > originKey.count {
            if delegations.contains(NameKey(ancestor)), !(ancestor == key && type.rawValue == 43),
                let entry = nodes.find(NameKey(ancestor))?.entry(of: .ns)
            {
                found = entry
            }
            ancestor = Array(ancestor[(Int(ancestor[0]) + 1)...])
        }
        return found
    }

    /// Names that exist without being stored: pod names in the cluster zone, wildcard matches in files.
    private func synthesize(key: [UInt8], name: DomainName) -> Node? {
        switch kind {
        case .cluster: podNode(key: key, name: name)
        case .file: hasWildcards ? wildcardNode(key: key, name: name) : nil
        case .reverse: loopbackNode(key: key, name: name)
        }
    }

    /// An unknown loopback address (127.0.0.0/8, ::1) is `localhost.` (RFC 6761 §6.3); a known one is the name
    /// of the endpoint that has it.
    private func loopbackNode(key: [UInt8], name: DomainName) -> Node? {
        guard let address = ReverseName.address(of: key), ReverseName.isLoopback(address) else { return nil }
        let set = RRSet(owner: name, type: .ptr, ttl: recordTTL, rdata: [.ptr(ReverseName.localhost)])
        return Node(entries: [NodeEntry(rrSet: set, additional: [])])
    }

    /// Spec §2.5 pod records: `a-b-c-d.<ns>.pod.<zone>.` is A `a.b.c.d` (AAAA for the dashed IPv6
    /// form). With `--pods insecure` in any namespace, from the name alone; with `verified` only when a Service
    /// of `<ns>` has that address; with `disabled` never.
    ///
    /// Every miss in the cluster zone comes through here (search-path misses are most of them), so the
    /// shape is checked on the bytes, without allocating, before anything is built.
    private func podNode(key: [UInt8], name: DomainName) -> Node? {
        if case .disabled = pods { return nil }
        // The starts of the (at most three) labels above the origin.
        var starts: (Int, Int, Int) = (0, 0, 0)
        var count = 0
        var index = 0
        while key.count - index > originKey.count {
            guard count < 3 else { return nil }
            switch count {
            case 0: starts.0 = index
            case 1: starts.1 = index
            default: starts.2 = index
            }
            count += 1
            index += Int(key[index]) + 1
        }
        guard key.count - index == originKey.count, count >= 2 else { return nil }
        let pod = count == 2 ? starts.1 : starts.2
        guard key[pod] == 3, key[pod + 1] == UInt8(ascii: "p"), key[pod + 2] == UInt8(ascii: "o"),
            key[pod + 3] == UInt8(ascii: "d")
        else { return nil }
        guard count == 3 else {
            return .emptyNonTerminal  // `<ns>.pod.<zone>.`
        }
        let label = String(decoding: key[(starts.0 + 1)..<starts.1], as: UTF8.self)
        guard let address = IPAddress(dashed: label) else { return nil }
        if case .verified(let addresses) = pods {
            let namespace = String(decoding: key[(starts.1 + 1)..<starts.2], as: UTF8.self)
            guard addresses.contains(namespace: namespace, address: address) else { return nil }
        }
        let set = RRSet(owner: name, type: address.recordType, ttl: recordTTL, rdata: [address.rdata])
        return Node(entries: [NodeEntry(rrSet: set, additional: [])])
    }

    /// RFC 4592 §3.3.1: the closest encloser's `*` child answers for names that do not exist,
    /// with the owner replaced by the query name.
    private func wildcardNode(key: [UInt8], name: DomainName) -> Node? {
        var encloser = key
        while encloser.count > originKey.count {
            encloser = Array(encloser[(Int(encloser[0]) + 1)...])
            if nodes.find(NameKey(encloser)) != nil { break }
        }
        guard let wildcard = nodes[NameKey([1, UInt8(ascii: "*")] + encloser)] else { return nil }
        return Node(
            entries: wildcard.entries.map { entry in
                var set = entry.rrSet
                set.owner = name
                return NodeEntry(rrSet: set, additional: entry.additional, rotation: entry.rotation)
            }
        )
    }
}
