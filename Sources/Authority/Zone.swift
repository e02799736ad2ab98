import Atomics
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
    let nodes: ZoneNodes
    /// True when some owner is a wildcard (`*.…`), so misses must look for one (RFC 4592).
    let hasWildcards: Bool
    /// Owners below the apex that carry NS records: the query path answers with a referral below them.
    let delegations: Set<NameKey>
    /// The TTL of synthesised records (pod names).
    let recordTTL: UInt32
    /// Reverse zones only: the ranges whose unknown names are still answered NXDOMAIN here, when others
    /// are left to the forwarder; nil when every unknown name is answered here.
    let ownedNetworks: [IPNetwork]?
    /// The cluster zone only: which pod names it answers (`--pods`).
    let pods: PodRecords

    convenience init(
        kind: Kind, origin: DomainName, soa: RRSet, nodes: ZoneNodes, recordTTL: UInt32, ownedNetworks: [IPNetwork]? = nil,
        pods: PodRecords = .insecure
    ) {
        let originKey = NameKey(origin.lookupKey)
        self.init(
            kind: kind, origin: origin, soa: soa, nodes: nodes, recordTTL: recordTTL, ownedNetworks: ownedNetworks,
            pods: pods, hasWildcards: nodes.hasWildcards, delegations: nodes.delegations.subtracting([originKey])
        )
    }

    private init(
        kind: Kind, origin: DomainName, soa: RRSet, nodes: ZoneNodes, recordTTL: UInt32, ownedNetworks: [IPNetwork]?,
        pods: PodRecords, hasWildcards: Bool, delegations: Set<NameKey>
    ) {
        self.ownedNetworks = ownedNetworks
        self.pods = pods
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
        self.hasWildcards = hasWildcards
        self.delegations = delegations
    }

    /// This zone with changed names, a new SOA and (the cluster zone) its pod addresses. Only generated zones
    /// (cluster and reverse) change this way, and Services never make wildcards or delegations in them, so those
    /// are carried over unscanned.
    func replacing(nodes: ZoneNodes, soa: RRSet, pods: PodRecords? = nil) -> Zone {
        Zone(
            kind: kind, origin: origin, soa: soa, nodes: nodes, recordTTL: recordTTL, ownedNetworks: ownedNetworks,
            pods: pods ?? self.pods, hasWildcards: hasWildcards, delegations: delegations
        )
    }
}

/// A name in a zone: its RRsets, each with the additional-section records that go with it.
struct Node: Sendable {
    var entries: [NodeEntry]
    /// How many names exist one label below this one.
    var children: Int32 = 0
    /// True when the name exists only because names below it do (an empty non-terminal no one added):
    /// it goes when its last child goes.
    var isDerived = false

    static let emptyNonTerminal = Node(entries: [])

    func entry(of type: RecordType) -> NodeEntry? {
        entries.first { $0.rrSet.type == type }
    }
}

/// An RRset and what follows it into the additional section (A/AAAA of SRV, MX and NS targets),
/// linked when the snapshot was built so a query only follows it.
struct NodeEntry: Sendable {
    var rrSet: RRSet
    var additional: AdditionalSets
    /// The RRset's rotation counter; nil when it has one record. It belongs to the RRset, so an RRset
    /// a change leaves alone keeps its place in the rotation across snapshots.
    var rotation: RotationCounter? = nil

    init(rrSet: RRSet, additional: [RRSet]) {
        self.rrSet = rrSet
        self.additional = AdditionalSets(additional)
        self.rotation = rrSet.recordCount > 1 ? RotationCounter() : nil
    }

    init(rrSet: RRSet, additional: AdditionalSets, rotation: RotationCounter?) {
        self.rrSet = rrSet
        self.additional = additional
        self.rotation = rotation
    }
}

/// The additional RRsets of one RRset: values, or a range of a packed zone's links read in place (so that
/// answering from a packed zone copies none of them).
struct AdditionalSets: RandomAccessCollection, Sendable {
    private let values: [RRSet]
    private let packed: PackedZone?
    private let links: Range<Int>

    init(_ values: [RRSet]) {
        self.values = values
        self.packed = nil
        self.links = 0..<0
    }

    init(packed: PackedZone, links: Range<Int>) {
        self.values = []
        self.packed = packed
        self.links = links
    }

    var startIndex: Int { 0 }
    var endIndex: Int { packed == nil ? values.count : links.count }

    subscript(position: Int) -> RRSet {
        guard let packed else { return values[position] }
        return packed.linkedSet(links.lowerBound + position)
    }
}
