/// The data of one record, shaped by its type so the encoder knows where names sit
/// (and which of them it may compress: RFC 3597 §4 allows it only for the RFC 1035 types).
public enum RData: Hashable, Sendable {
    case a(IPv4Bytes)
    case aaaa(IPv6Bytes)
    case cname(DomainName)
    case ns(DomainName)
    case ptr(DomainName)
    case mx(preference: UInt16, exchange: DomainName)
    /// Boxed: an SOA inline would make every record 40 bytes rather than 24, and a zone has one SOA
    /// against millions of other records.
    indirect case soa(SOAData)
    /// RFC 2782: the target is never compressed.
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DomainName)
    case txt([[UInt8]])
    /// Any other type, as its uncompressed wire rdata.
    case opaque([UInt8])
}

/// Four address bytes in network order.
public struct IPv4Bytes: Hashable, Sendable {
    public var b0, b1, b2, b3: UInt8
    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) { (self.b0, self.b1, self.b2, self.b3) = (b0, b1, b2, b3) }
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        let array = Array(bytes)
        self.init(array[0], array[1], array[2], array[3])
    }
    public var bytes: [UInt8] { [b0, b1, b2, b3] }
}

/// Sixteen address bytes in network order, stored as two words so the value needs no heap allocation.
public struct IPv6Bytes: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) { (self.high, self.low) = (high, low) }
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let array = Array(bytes)
        high = array[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = array[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
}

/// The fields of an SOA record (RFC 1035 §3.3.13).
public struct SOAData: Hashable, Sendable {
    public var mname: DomainName
    public var rname: DomainName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// The negative-caching TTL (RFC 2308 §4).
    public var minimum: UInt32

    public init(
        mname: DomainName, rname: DomainName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32,
        minimum: UInt32
    ) {
        self.mname = mname
        self.rname = rname
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// One resource record, as read from a zone file or a message.
public struct ResourceRecord: Hashable, Sendable {
    public var owner: DomainName
    public var type: RecordType
    public var ttl: UInt32
    public var rdata: RData

    public init(owner: DomainName, type: RecordType, ttl: UInt32, rdata: RData) {
        self.owner = owner
        self.type = type
        self.ttl = ttl
        self.rdata = rdata
    }
}

/// All records of one owner, type and class (RFC 2181 §5): the unit answers are built from and truncated by.
///
/// Either values (`owner` and `rdata` as given) or a reference into a `RecordStore`, whose bytes the encoder copies
/// as they are; `owner` and `rdata` of a stored set are decoded from the store when read. Equal sets are equal
/// whichever way each is held.
public struct RRSet: Hashable, Sendable {
    // Laid out to stay small (48 bytes): snapshots hold millions of RRsets by value.
    /// The records of a value set; empty for a stored one.
    private var values: [RData]
    /// The store of a stored set; nil for a value set.
    private var store: RecordStore?
    /// Nil for a stored set whose owner is the store's.
    private var ownerName: DomainName?
    /// RFC 2181 §5.2: one TTL for the whole set.
    public var ttl: UInt32
    private var storeIndex: UInt32
    private var first: UInt32
    private var limit: UInt32
    public var type: RecordType

    /// Where the encoder starts writing the records, wrapping around: how a rotated answer is presented
    /// without copying the records. 0 in a zone; set on the copy that goes into one response.
    public var firstRecord: Int {
        get { Int(first) }
        set { first = UInt32(truncatingIfNeeded: newValue) }
    }

    /// At most this many records are written, from `firstRecord` on; 0 writes them all.
    public var recordLimit: Int {
        get { Int(limit) }
        set { limit = UInt32(clamping: newValue) }
    }

    public init(owner: DomainName, type: RecordType, ttl: UInt32, rdata: [RData], firstRecord: Int = 0, recordLimit: Int = 0) {
        self.values = rdata
        self.store = nil
        self.storeIndex = 0
        self.ownerName = owner
        self.type = type
        self.ttl = ttl
        self.first = UInt32(truncatingIfNeeded: firstRecord)
        self.limit = UInt32(clamping: recordLimit)
    }

    /// The set at `index` of `store`.
    init(stored store: RecordStore, index: Int, type: RecordType, ttl: UInt32) {
        self.values = []
        self.store = store
        self.storeIndex = UInt32(index)
        self.ownerName = nil
        self.type = type
        self.ttl = ttl
        self.first = 0
        self.limit = 0
    }

    /// The owner; setting it on a stored set keeps the records where they are (an answer's owner is the name
    /// asked, a wildcard's the name it answers for).
    public var owner: DomainName {
        get {
            if let ownerName { return ownerName }
            guard let store else { preconditionFailure("a value set has an owner") }
            return store.owner(Int(storeIndex))
        }
        set { ownerName = newValue }
    }

    /// The records as values; setting them (or changing them in place) makes the set a value set.
    public var rdata: [RData] {
        get {
            guard let store else { return values }
            return store.records(Int(storeIndex))
        }
        set {
            materialize()
            values = newValue
        }
        // In place: building a zone appends to a set record by record, and a copy per append would be quadratic.
        _modify {
            materialize()
            yield &values
        }
    }

    /// Makes a stored set a value set with the same owner and records.
    private mutating func materialize() {
        guard let store else { return }
        if ownerName == nil { ownerName = store.owner(Int(storeIndex)) }
        values = store.records(Int(storeIndex))
        self.store = nil
    }

    /// How many records the set holds (without decoding a stored one).
    public var recordCount: Int {
        guard let store else { return values.count }
        return store.recordCount(of: Int(storeIndex))
    }

    /// The store and index of a stored set, and the owner written in place of the store's (nil: the store's).
    var stored: (store: RecordStore, index: Int, owner: DomainName?)? {
        guard let store else { return nil }
        return (store, Int(storeIndex), ownerName)
    }

    /// The records of a value set, nil for a stored one: the encoder's way to each.
    var recordValues: [RData]? {
        store == nil ? values : nil
    }

    public static func == (lhs: RRSet, rhs: RRSet) -> Bool {
        lhs.type == rhs.type && lhs.ttl == rhs.ttl && lhs.firstRecord == rhs.firstRecord
            && lhs.recordLimit == rhs.recordLimit && lhs.owner == rhs.owner && lhs.rdata == rhs.rdata
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(owner)
        hasher.combine(type)
        hasher.combine(ttl)
        hasher.combine(rdata)
        hasher.combine(firstRecord)
        hasher.combine(recordLimit)
    }

    /// How many records the encoder writes.
    public var presentedCount: Int {
        let count = recordCount
        return recordLimit > 0 ? min(recordLimit, count) : count
    }
}
