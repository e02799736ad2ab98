import DNSMessage
import ServiceModel

/// What shapes the cluster zone besides the objects in it.
public struct ClusterSettings: Hashable, Sendable {
    /// The cluster domain (`--domain`, default `cluster.local.`).
    public var domain: DomainName
    /// The TTL of every record svcdns makes from objects (`--ttl`, default 5 s); a Service's `svcdns.io/ttl` wins.
    public var ttl: UInt32
    /// The TTL and MINIMUM of the SOAs svcdns makes, and so of its negative answers (`--negative-ttl`, default 5 s).
    public var negativeTTL: UInt32
    /// The addresses `ns.dns.<domain>.` answers with: where svcdns itself listens (wildcards left out).
    public var nameServerAddresses: [IPAddress]
    /// When every endpoint of a Service is down, answer with all of them (`--no-fail-open` turns it off):
    /// a negative answer is cached by clients and would outlive the outage.
    public var failOpen: Bool
    /// When fewer than this percentage of a Service's endpoints are healthy (but some are), answer with all of
    /// them (`--panic-threshold`, 0 = never; a Service's `svcdns.io/panic-threshold` wins), as Envoy's panic
    /// mode: the survivors are not handed every client at once.
    public var panicThreshold: Int
    /// How multi-record answers are ordered (`--rotate`).
    public var rotation: RotationMode
    /// At most this many records of one RRset per answer, rotating (`--max-answers`); 0 means all.
    public var maxAnswers: Int
    /// When set (forwarding is on), a PTR query for an address svcdns does not know, outside
    /// `serviceNetworks`, is not answered here: the caller forwards it. Without it svcdns answers NXDOMAIN.
    public var forwardsUnknownReverseNames: Bool
    /// The address ranges Services and pods live in (`--service-cidr`): reverse names in them are svcdns's to
    /// answer, known or not.
    public var serviceNetworks: [IPNetwork]
    /// The Services served (`--namespaces`, `--labels`); the others have no names, as if absent.
    public var exposure: Exposure
    /// Which pod names are answered (`--pods`, default `insecure`).
    public var podRecords: PodRecordMode
    /// An endpoint without a `hostname` is named after its pod (`targetRef.name`) when that is a DNS label
    /// (`--endpoint-pod-names`), rather than after its dashed address.
    public var endpointPodNames: Bool

    public init(
        domain: DomainName, ttl: UInt32 = 5, negativeTTL: UInt32 = 5, nameServerAddresses: [IPAddress] = [], failOpen: Bool = true,
        rotation: RotationMode = .roundRobin, maxAnswers: Int = 0, forwardsUnknownReverseNames: Bool = false,
        serviceNetworks: [IPNetwork] = [], exposure: Exposure = .everything, podRecords: PodRecordMode = .insecure,
        endpointPodNames: Bool = false, panicThreshold: Int = 0
    ) {
        self.panicThreshold = panicThreshold
        self.exposure = exposure
        self.podRecords = podRecords
        self.endpointPodNames = endpointPodNames
        self.domain = domain
        self.ttl = ttl
        self.negativeTTL = negativeTTL
        self.nameServerAddresses = nameServerAddresses
        self.failOpen = failOpen
        self.rotation = rotation
        self.maxAnswers = maxAnswers
        self.forwardsUnknownReverseNames = forwardsUnknownReverseNames
        self.serviceNetworks = serviceNetworks
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
