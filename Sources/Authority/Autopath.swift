import DNSMessage

/// The search list a Kubernetes pod's resolver would walk after `X.<ns>.svc.<domain>.` failed, for the
/// server to walk instead (`--autopath`, as CoreDNS's autopath plugin): what comes after the pod's own
/// namespace in its `resolv.conf` (`svc.<domain>`, `<domain>`, then the bare name). The namespace comes from the
/// query itself, so no pod is watched or remembered.
public struct SearchPath: Sendable, Equatable {
    /// `X.svc.<domain>.` and `X.<domain>.`: answered from the cluster zone.
    public var local: [DomainName]
    /// `X.`: outside the cluster zone, for the forwarder.
    public var bare: DomainName
    /// The TTL of the CNAME from the asked name to the one found (`--ttl`).
    public var aliasTTL: UInt32
}

extension Snapshot {
    /// The rest of the search list when `name` is `X.<ns>.svc.<domain>.` (X one label or more) and `<ns>` is a
    /// namespace with a Service; nil for any other name.
    public func searchPath(after name: DomainName) -> SearchPath? {
        guard let cluster = zones.first(where: { $0.kind == .cluster }) else { return nil }
        let key = name.lookupKey
        let origin = cluster.originKey
        guard key.count > origin.count, Self.key(key, isAtOrBelow: origin) else { return nil }
        // The starts of the labels above the origin.
        var starts: [Int] = []
        var index = 0
        while index < key.count - origin.count {
            starts.append(index)
            index += Int(key[index]) + 1
        }
        guard starts.count >= 3 else { return nil }
        let svc = starts[starts.count - 1]
        let namespace = starts[starts.count - 2]
        guard key[svc...].starts(with: [3] + Array("svc".utf8)),
            cluster.nodes.find(NameKey(Array(key[namespace...]))) != nil
        else { return nil }
        // X as asked (its case kept), then each suffix of the search list.
        let prefix = Array(name.wire[..<namespace])
        let originWire = Array(name.wire[svc...].dropFirst(4))
        return SearchPath(
            local: [
                DomainName(uncheckedWire: prefix + [3] + Array("svc".utf8) + originWire),
                DomainName(uncheckedWire: prefix + originWire),
            ],
            bare: DomainName(uncheckedWire: prefix + [0]),
            aliasTTL: cluster.recordTTL
        )
    }
}
