/// The EDNS0 facts of a message (RFC 6891 §6.1.3), from its OPT record.
public struct EDNS: Hashable, Sendable {
    /// The requestor's UDP payload size; values below 512 are treated as 512 (RFC 6891 §6.2.3).
    public var udpPayloadSize: UInt16
    public var version: UInt8
    /// DNSSEC OK (RFC 3225); copied into the response.
    public var dnssecOK: Bool

    public init(udpPayloadSize: UInt16, version: UInt8 = 0, dnssecOK: Bool = false) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
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

    public init(
        rcode: ResponseCode = .noError, authoritative: Bool = false, recursionAvailable: Bool = false,
        answer: [RRSet] = [], authority: [RRSet] = [], additional: [RRSet] = []
    ) {
        self.rcode = rcode
        self.authoritative = authoritative
        self.recursionAvailable = recursionAvailable
        self.answer = answer
        self.authority = authority
        self.additional = additional
    }
}
