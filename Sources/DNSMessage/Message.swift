/// The EDNS0 facts of a message (RFC 6891 §6.1.3), from its OPT record.
public struct EDNS: Hashable, Sendable {
    /// The requestor's UDP payload size; values below 512 are treated as 512 (RFC 6891 §6.2.3).
    public var udpPayloadSize: UInt16
    public var version: UInt8
    /// DNSSEC OK (RFC 3225); copied into the response.
    public var dnssecOK: Bool
    /// The EDNS Client Subnet option of a query (RFC 7871), when it had one; other options are not kept.
    public var clientSubnet: ClientSubnet?

    public init(udpPayloadSize: UInt16, version: UInt8 = 0, dnssecOK: Bool = false, clientSubnet: ClientSubnet? = nil) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
        self.clientSubnet = clientSubnet
    }
}

/// The header fields a response copies from its query.
public struct QueryHeader: Hashable, Sendable {
    public var id: UInt16
    /// The flags word as received (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    public var flags: UInt16

    public init(id: UInt16, flags: UInt16) {
        self.id = id
        self.flags = flags
    }

    public var opcode: UInt8 { UInt8((flags >> 11) & 0x0F) }
    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var recursionDesired: Bool { flags & 0x0100 != 0 }
    public var checkingDisabled: Bool { flags & 0x0010 != 0 }
}

/// A decoded query: one question, and EDNS when the client sent an OPT record.
public struct Query: Hashable, Sendable {
    public var header: QueryHeader
    /// The question name in the client's letter case.
    public var name: DomainName
    public var type: RecordType
    public var recordClass: UInt16
    /// Nil when the query carried no OPT record; then the response carries none either (RFC 6891 §7).
    public var edns: EDNS?
    /// An IXFR's serial: the version of the zone the secondary holds (RFC 1995 §3); nil for other types.
    public var ixfrSerial: UInt32? = nil

    public init(header: QueryHeader, name: DomainName, type: RecordType, recordClass: UInt16, edns: EDNS?) {
        self.header = header
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.edns = edns
    }

    public var id: UInt16 { header.id }
}

/// What a response says, before encoding. Sections hold whole RRsets, the unit of truncation.
public struct Response: Hashable, Sendable {
    public var rcode: ResponseCode
    public var authoritative: Bool
    public var recursionAvailable: Bool
    public var answer: [RRSet]
    public var authority: [RRSet]
    public var additional: [RRSet]
    /// TC is set even when everything fits: a rate-limited answer sent empty so the client asks over TCP.
    public var truncated: Bool
    /// The scope to echo the query's EDNS Client Subnet option with (RFC 7871 §7.2.1): how many leading bits of
    /// the client's subnet this answer is good for. Nil: the option was not used, and is not echoed.
    public var clientSubnetScope: UInt8? = nil

    public init(
        rcode: ResponseCode = .noError, authoritative: Bool = false, recursionAvailable: Bool = false,
        answer: [RRSet] = [], authority: [RRSet] = [], additional: [RRSet] = [], truncated: Bool = false
    ) {
        self.rcode = rcode
        self.authoritative = authoritative
        self.recursionAvailable = recursionAvailable
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.truncated = truncated
    }
}

/// A whole decoded message, as an upstream resolver sends it.
public struct Message: Hashable, Sendable {
    public var header: QueryHeader
    public var questions: [(name: DomainName, type: RecordType, recordClass: UInt16)]
    public var answer: [ResourceRecord]
    public var authority: [ResourceRecord]
    /// Without the OPT record, which is in `edns`.
    public var additional: [ResourceRecord]
    public var edns: EDNS?

    public init(
        header: QueryHeader, questions: [(name: DomainName, type: RecordType, recordClass: UInt16)], answer: [ResourceRecord],
        authority: [ResourceRecord], additional: [ResourceRecord], edns: EDNS?
    ) {
        self.header = header
        self.questions = questions
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }

    /// The 4-bit response code of the header.
    public var rcode: ResponseCode { ResponseCode(rawValue: header.flags & 0x000F) }
    public var isTruncated: Bool { header.flags & 0x0200 != 0 }

    public static func == (lhs: Message, rhs: Message) -> Bool {
        lhs.header == rhs.header && lhs.questions.elementsEqual(rhs.questions, by: { $0 == $1 }) && lhs.answer == rhs.answer
            && lhs.authority == rhs.authority && lhs.additional == rhs.additional && lhs.edns == rhs.edns
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(header)
        hasher.combine(answer)
    }
}

extension RRSet {
    /// Groups records into RRsets in order of first appearance (an upstream may interleave them); each
    /// set takes the smallest TTL of its records (RFC 2181 §5.2).
    ///
    /// Linear in the records: an upstream's answer over TCP may hold thousands of them, and a search of the
    /// sets so far for each record (quadratic) would hold an event loop for as long as the upstream likes.
    public static func grouping(_ records: [ResourceRecord]) -> [RRSet] {
        var sets: [RRSet] = []
        // Most answers are a handful of records: a scan of so few sets costs less than hashing names.
        guard records.count > 8 else {
            for record in records {
                if let index = sets.firstIndex(where: { $0.type == record.type && $0.owner == record.owner }) {
                    sets[index].rdata.append(record.rdata)
                    sets[index].ttl = min(sets[index].ttl, record.ttl)
                } else {
                    sets.append(RRSet(owner: record.owner, type: record.type, ttl: record.ttl, rdata: [record.rdata]))
                }
            }
            return sets
        }
        var positions: [SetKey: Int] = [:]
        positions.reserveCapacity(records.count)
        for record in records {
            let key = SetKey(owner: record.owner, type: record.type)
            if let index = positions[key] {
                sets[index].rdata.append(record.rdata)
                sets[index].ttl = min(sets[index].ttl, record.ttl)
            } else {
                positions[key] = sets.count
                sets.append(RRSet(owner: record.owner, type: record.type, ttl: record.ttl, rdata: [record.rdata]))
            }
        }
        return sets
    }

    /// An RRset's identity: owner (compared case-insensitively, as `DomainName` is) and type.
    private struct SetKey: Hashable {
        var owner: DomainName
        var type: RecordType
    }
}
