import ServiceModel

/// Which `a-b-c-d.<ns>.pod.<domain>.` names the cluster zone answers (`--pods`), as CoreDNS's kubernetes plugin's
/// `pods` option.
public enum PodRecordMode: String, CaseIterable, Hashable, Sendable {
    /// Any well-formed name, in any namespace, from the name alone: what the schema (§2.5) and kube-dns do.
    case insecure
    /// Only an address that an endpoint of a served Service in that namespace has. svcdns sees no pods, so a
    /// Service's endpoints stand in for them, as the pods CoreDNS would look up.
    case verified
    /// None: every pod name is NXDOMAIN.
    case disabled
}

/// The addresses each namespace's served Services offer, for `--pods verified`; counted, because two Services
/// of one namespace often select the same pods, and the address stays until the last of them lets it go.
///
/// Built with the snapshot and changed with it, Service by Service, so a snapshot's pod names always agree
/// with its Service names. Sharded, so the copy a change makes is one shard, not the map.
struct PodAddresses: Sendable {
    struct Key: Hashable, Sendable {
        var namespace: String
        var address: IPAddress
    }

    private var counts = ShardedDictionary<Key, Int32>()

    var count: Int { counts.count }

    func contains(namespace: String, address: IPAddress) -> Bool {
        counts[Key(namespace: namespace, address: address)] != nil
    }

    mutating func add(_ addresses: [IPAddress], namespace: String) {
        for address in addresses {
            counts[Key(namespace: namespace, address: address), default: 0] += 1
        }
    }

    mutating func remove(_ addresses: [IPAddress], namespace: String) {
        for address in addresses {
            let key = Key(namespace: namespace, address: address)
            guard let count = counts[key] else { continue }
            counts[key] = count > 1 ? count - 1 : nil
        }
    }
}

/// The cluster zone's pod names: the mode, and for `verified` the addresses that may be answered.
enum PodRecords: Sendable {
    case insecure
    case verified(PodAddresses)
    case disabled
}

extension SnapshotBuilder {
    /// The addresses one Service vouches for under `--pods verified`: those it offers (ready, or all with
    /// `publishNotReadyAddresses`), whether or not the health checker passes them, since a pod record names a pod,
    /// not a healthy one. None for a Service left out by `--namespaces`/`--labels`, or an ExternalName.
    func podAddresses(of service: Service, in catalog: Catalog) -> [IPAddress] {
        guard settings.podRecords == .verified, settings.exposure.admits(service), service.type != .externalName
        else { return [] }
        return catalog.offeredEndpoints(of: service).map(\.address)
    }
}
