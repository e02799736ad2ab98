import DNSMessage
import ServiceModel

/// One zone svcdns is authoritative for, with every answer-time fact precomputed (as NSD's namedb
/// keeps `soa_nx_rrset` and Knot's adjust step links additionals before a zone is published).
final class Zone: Sendable {
    enum Kind: Sendable {
        /// The Kubernetes schema zone: pod names are synthesised from the query name.
        case cluster
        /// `in-addr.arpa.` or `ip6.arpa.`: PTRs of the addresses svcdns knows.
        case reverse
        /// A zone read from a zone file: wildcards and delegations apply.
        case file
    }

    let kind: Kind
    let origin: DomainName
    let originKey: [UInt8]
    let soa: RRSet
    /// RFC 2308 §3: the SOA in a negative answer has TTL = min(SOA TTL, SOA MINIMUM).
    let negativeSOA: RRSet
    /// Every name that exists, including empty non-terminals (nodes with no RRsets), by lowercased wire form.
    let nodes: [NameKey: Node]
    /// True when some owner is a wildcard (`*.…`), so misses must look for one (RFC 4592).
    let hasWildcards: Bool
    /// Owners below the apex that carry NS records: the query path answers with a referral below them.
    let delegations: Set<NameKey>
    /// The TTL of synthesised records (pod names).
    let recordTTL: UInt32
    /// Reverse zones only: the ranges whose unknown names are still answered NXDOMAIN here, when others
    /// are left to the forwarder; nil when every unknown name is answered here.
    let ownedNetworks: [IPNetwork]?

    init(
        kind: Kind, origin: DomainName, soa: RRSet, nodes: [NameKey: Node], recordTTL: UInt32,
        ownedNetworks: [IPNetwork]? = nil
    ) {
        self.ownedNetworks = ownedNetworks
        self.kind = kind
        self.origin = origin
        self.originKey = origin.lookupKey
        self.soa = soa
        var negative = soa
        if case .soa(let data) = soa.rdata.first {
            negative.ttl = min(soa.ttl, data.minimum)
        }
        self.negativeSOA = negative
        self.nodes = nodes
        self.recordTTL = recordTTL
        self.hasWildcards = nodes.keys.contains { $0.bytes.first == 1 && $0.bytes.count > 1 && $0.bytes[1] == UInt8(ascii: "*") }
        let originKey = NameKey(self.originKey)
        self.delegations = Set(
            nodes.filter { key, node in key != originKey && node.entries.contains { $0.rrSet.type == .ns } }.keys
        )
    }
}

/// A name in a zone: its RRsets, each with the additional-section records that go with it.
struct Node: Sendable {
    var entries: [NodeEntry]

    static let emptyNonTerminal = Node(entries: [])

    func entry(of type: RecordType) -> NodeEntry? {
        entries.first { $0.rrSet.type == type }
    }
}

/// An RRset and what follows it into the additional section (A/AAAA of SRV, MX and NS targets),
/// linked when the snapshot was built so a query only follows it.
struct NodeEntry: Sendable {
    var rrSet: RRSet
    var additional: [RRSet]
    /// The RRset's rotation counter in the snapshot's `Rotator`; -1 when it has one record.
    var rotationSlot: Int32 = -1
}
