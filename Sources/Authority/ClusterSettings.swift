import DNSMessage
import ServiceModel

/// What shapes the cluster zone besides the objects in it.
public struct ClusterSettings: Hashable, Sendable {
    /// The cluster domain (`--domain`, default `cluster.local.`).
    public var domain: DomainName
    /// The TTL of every record svcdns makes from objects, and the SOA minimum (`--ttl`, default 5 s).
    public var ttl: UInt32
    /// The addresses `ns.dns.<domain>.` answers with: where svcdns itself listens (wildcards left out).
    public var nameServerAddresses: [IPAddress]

    public init(domain: DomainName, ttl: UInt32 = 5, nameServerAddresses: [IPAddress] = []) {
        self.domain = domain
        self.ttl = ttl
        self.nameServerAddresses = nameServerAddresses
    }

    /// `ns.dns.<domain>.`, the name in the zone's NS and SOA records.
    public var nameServer: DomainName {
        domain.prepending("dns")!.prepending("ns")!
    }

    /// `hostmaster.<domain>.`, the SOA's mailbox, as CoreDNS writes it.
    public var hostmaster: DomainName {
        domain.prepending("hostmaster")!
    }
}
