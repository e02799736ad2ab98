// ResponseEncoder: responses written by svcdns and read back by libldns (the independent check),
// plus the byte-level facts libldns hides: compression, OPT layout, extended rcode.
import DNSMessage
import SvcDNSTesting
import Testing

/// Names used by the encoder tests; the force unwraps are of literals checked by DomainNameTests.
private func name(_ text: String) -> DomainName { DomainName(text)! }

private func query(
    _ text: String, _ type: RecordType, id: UInt16 = 0x1234, flags: UInt16 = 0x0100, edns: EDNS? = nil
) -> Query {
    Query(header: QueryHeader(id: id, flags: flags), name: name(text), type: type, recordClass: 1, edns: edns)
}

private func encode(_ response: Response, to query: Query, limit: Int? = nil) -> [UInt8] {
    var buffer: [UInt8] = []
    ResponseEncoder.encode(
        .response(response, to: query), limit: limit ?? ResponseEncoder.sizeLimit(for: query, overTCP: false),
        into: &buffer)
    return buffer
}

/// `count` A records 127.0.x.y for `owner`.
private func addresses(_ owner: String, count: Int) -> RRSet {
    let rdata: [RData] = (0..<count).map { (index: Int) -> RData in
        let third = UInt8(1 + index / 250)
        let fourth = UInt8(1 + index % 250)
        return .a(IPv4Bytes(127, 0, third, fourth))
    }
    return RRSet(owner: name(owner), type: .a, ttl: 5, rdata: rdata)
}

private func expectedAddresses(_ owner: String, count: Int) throws -> [String] {
    try (0..<count).map { try LDNS.canonical("\(owner) 5 IN A 127.0.\(1 + $0 / 250).\(1 + $0 % 250)") }.sorted()
}

private func count(of needle: [UInt8], in haystack: [UInt8]) -> Int {
    guard needle.count <= haystack.count else { return 0 }
    return (0...(haystack.count - needle.count)).filter { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
        .count
}

private func u16(_ bytes: [UInt8], at offset: Int) -> Int { Int(bytes[offset]) << 8 | Int(bytes[offset + 1]) }

@Suite("ResponseEncoder")
struct EncoderTests {
    static let web = "web.default.svc.cluster.local."
    static let webA = RRSet(owner: name(web), type: .a, ttl: 5, rdata: [.a(IPv4Bytes(10, 96, 0, 10))])
    static let soa = RRSet(
        owner: name("cluster.local."), type: .soa, ttl: 5,
        rdata: [
            .soa(
                SOAData(
                    mname: name("ns.dns.cluster.local."), rname: name("hostmaster.cluster.local."), serial: 2026,
                    refresh: 7200, retry: 1800, expire: 86400, minimum: 5))
        ])

    @Test func answerReadsBackWithLibldns() throws {
        let q = query(Self.web, .a, id: 0xABCD)
        let bytes = encode(Response(authoritative: true, answer: [Self.webA]), to: q)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.id == 0xABCD)
        #expect(decoded.isResponse)
        #expect(decoded.authoritative)
        #expect(!decoded.truncated)
        #expect(decoded.rcodeName == "NOERROR")
        #expect(decoded.question == ["web.default.svc.cluster.local. IN A"])
        #expect(decoded.answer == [try LDNS.canonical("web.default.svc.cluster.local. 5 IN A 10.96.0.10")])
        #expect(decoded.authority.isEmpty && decoded.additional.isEmpty)
    }

    @Test func everyRDataShapeReadsBackWithLibldns() throws {
        let owner = name("x.corp.example.")
        let sets = [
            RRSet(owner: owner, type: .aaaa, ttl: 60, rdata: [.aaaa(IPv6Bytes(high: 0xfd00_0000_0000_0000, low: 1))]),
            RRSet(owner: owner, type: .cname, ttl: 60, rdata: [.cname(name("web.default.svc.cluster.local."))]),
            RRSet(owner: owner, type: .ns, ttl: 60, rdata: [.ns(name("ns1.corp.example."))]),
            RRSet(owner: owner, type: .ptr, ttl: 60, rdata: [.ptr(name("db-0.db.data.svc.cluster.local."))]),
            RRSet(owner: owner, type: .mx, ttl: 60, rdata: [.mx(preference: 10, exchange: name("mail.corp.example."))]),
            RRSet(
                owner: owner, type: .srv, ttl: 60,
                rdata: [.srv(priority: 1, weight: 2, port: 389, target: name("ldap.corp.example."))]),
            RRSet(owner: owner, type: .txt, ttl: 60, rdata: [.txt([Array("one".utf8), Array("two words".utf8)])]),
            RRSet(owner: owner, type: RecordType(rawValue: 65534), ttl: 60, rdata: [.opaque([1, 2, 3])]),
            Self.soa,
        ]
        let decoded = try LDNS.decode(encode(Response(answer: sets), to: query("x.corp.example.", .any), limit: 65535))
        let expected = try [
            "x.corp.example. 60 IN AAAA fd00::1",
            "x.corp.example. 60 IN CNAME web.default.svc.cluster.local.",
            "x.corp.example. 60 IN NS ns1.corp.example.",
            "x.corp.example. 60 IN PTR db-0.db.data.svc.cluster.local.",
            "x.corp.example. 60 IN MX 10 mail.corp.example.",
            "x.corp.example. 60 IN SRV 1 2 389 ldap.corp.example.",
            "x.corp.example. 60 IN TXT \"one\" \"two words\"",
            "x.corp.example. 60 IN TYPE65534 \\# 3 010203",
            "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2026 7200 1800 86400 5",
        ].map(LDNS.canonical)
        #expect(decoded.answer.sorted() == expected.sorted())
    }

    @Test func questionIsEchoedInTheClientsCase() throws {
        let q = query("WeB.DeFault.svc.cluster.local.", .a)
        let bytes = encode(Response(authoritative: true, answer: [Self.webA]), to: q)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.question == ["WeB.DeFault.svc.cluster.local. IN A"])
        #expect(Array(bytes[12..<(12 + q.name.wire.count)]) == q.name.wire)
        // The answer's owner may take the question's spelling through compression; names match case-blind.
        #expect(
            decoded.answer.map { $0.lowercased() } == [try LDNS.canonical("\(Self.web) 5 IN A 10.96.0.10").lowercased()]
        )
    }

    @Test(arguments: ["web.default.svc.cluster.local.", "WeB.DeFault.svc.cluster.local."])
    func answerOwnerIsAPointerToTheQuestionWhateverItsCase(asked: String) throws {
        let q = query(asked, .a)
        let bytes = encode(Response(authoritative: true, answer: [Self.webA]), to: q)
        let ownerAt = 12 + q.name.wire.count + 4
        #expect(Array(bytes[ownerAt..<(ownerAt + 2)]) == [0xC0, 12])
        #expect(bytes.count == ownerAt + 2 + 10 + 4)
    }

    /// Ten SRV records whose targets share the service's suffix (the headless StatefulSet shape).
    static let tenSRV = RRSet(
        owner: name("_postgres._tcp.db.data.svc.cluster.local."), type: .srv, ttl: 5,
        rdata: (0..<10).map {
            .srv(priority: 0, weight: 10, port: 5432, target: name("db-\($0).db.data.svc.cluster.local."))
        })

    @Test func ownersAreCompressedButSRVTargetsAreNot() throws {
        let q = query("_postgres._tcp.db.data.svc.cluster.local.", .srv)
        let bytes = encode(Response(authoritative: true, answer: [Self.tenSRV]), to: q, limit: 65535)
        let ownerWire = Self.tenSRV.owner.wire
        let targets = (0..<10).map { name("db-\($0).db.data.svc.cluster.local.").wire }
        let uncompressed = 12 + ownerWire.count + 4 + targets.reduce(0) { $0 + ownerWire.count + 10 + 6 + $1.count }
        #expect(bytes.count < uncompressed)
        // Each owner is a 2-byte pointer to the question; each target is written whole (RFC 2782).
        let recordBytes = targets.reduce(0) { $0 + 2 + 10 + 6 + $1.count }
        #expect(bytes.count == 12 + ownerWire.count + 4 + recordBytes)
        #expect(count(of: ownerWire, in: bytes) == 1)
        for target in targets {
            #expect(count(of: target, in: bytes) == 1, "SRV target \(target) must appear uncompressed")
        }
        let decoded = try LDNS.decode(bytes)
        let expected = try (0..<10).map {
            try LDNS.canonical(
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 10 5432 db-\($0).db.data.svc.cluster.local.")
        }
        #expect(decoded.answer.sorted() == expected.sorted())
    }

    @Test func namesInsideRFC1035RDataAreCompressed() throws {
        let cnames = (0..<10).map {
            RRSet(
                owner: name("alias\($0).corp.example."), type: .cname, ttl: 60,
                rdata: [.cname(name("web.default.svc.cluster.local."))])
        }
        let q = query("web.default.svc.cluster.local.", .a)
        let bytes = encode(Response(answer: cnames), to: q, limit: 65535)
        // The CNAME target equals the question: every rdata is a 2-byte pointer.
        #expect(count(of: q.name.wire, in: bytes) == 1)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.answer.count == 10)
        let allCNAMEs = decoded.answer.allSatisfy { $0.hasSuffix("CNAME web.default.svc.cluster.local.") }
        #expect(allCNAMEs)
    }

    @Test func compressionStopsAtThePointerLimitOfLargeTCPMessages() throws {
        // 1500 A records push the message past 16383 bytes, where a pointer can no longer reach; the names
        // after that must still read back.
        let big = addresses("db.data.svc.cluster.local.", count: 1500)
        let srv = RRSet(
            owner: name("_ldap._tcp.far.corp.example."), type: .srv, ttl: 60,
            rdata: [.srv(priority: 0, weight: 100, port: 389, target: name("ldap.far.corp.example."))])
        let ldap = RRSet(
            owner: name("ldap.far.corp.example."), type: .a, ttl: 60, rdata: [.a(IPv4Bytes(127, 0, 3, 89))])
        let other = RRSet(
            owner: name("mail.far.corp.example."), type: .a, ttl: 60, rdata: [.a(IPv4Bytes(127, 0, 3, 25))])
        let q = query("db.data.svc.cluster.local.", .a)
        let bytes = encode(
            Response(answer: [big], additional: [srv, ldap, other]), to: q, limit: ResponseEncoder.tcpLimit)
        #expect(bytes.count > 0x3FFF)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.answer.sorted() == (try expectedAddresses("db.data.svc.cluster.local.", count: 1500)))
        #expect(
            decoded.additional.sorted()
                == (try [
                    "_ldap._tcp.far.corp.example. 60 IN SRV 0 100 389 ldap.far.corp.example.",
                    "ldap.far.corp.example. 60 IN A 127.0.3.89", "mail.far.corp.example. 60 IN A 127.0.3.25",
                ].map(LDNS.canonical).sorted()))
    }

    // MARK: truncation

    /// 12 header + 31 question + 16 per compressed A record: 29 of the 60 records fit in 512 bytes (507).
    @Test func answerOver512BytesWithoutEDNSKeepsTheRecordsThatFitWithTC() throws {
        let q = query("db.data.svc.cluster.local.", .a)
        let bytes = encode(
            Response(authoritative: true, answer: [addresses("db.data.svc.cluster.local.", count: 60)]), to: q)
        #expect(bytes.count == 12 + 31 + 16 * 29)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.truncated)
        #expect(decoded.authoritative)
        #expect(decoded.answer.sorted() == (try expectedAddresses("db.data.svc.cluster.local.", count: 29)))
        #expect(u16(bytes, at: 6) == 29)  // ANCOUNT
        #expect(decoded.question == ["db.data.svc.cluster.local. IN A"])
    }

    /// A rotated set is cut where it is presented: the records that fit are the ones from `firstRecord` on,
    /// wrapping, so consecutive answers (each starting one record later) cover the whole set.
    @Test func truncatedAnswerKeepsTheRotatedOrder() throws {
        let q = query("db.data.svc.cluster.local.", .a)
        var set = addresses("db.data.svc.cluster.local.", count: 60)
        set.firstRecord = 50
        let decoded = try LDNS.decode(encode(Response(answer: [set]), to: q))
        #expect(decoded.truncated)
        let all = try (0..<60).map { try LDNS.canonical("db.data.svc.cluster.local. 5 IN A 127.0.1.\(1 + $0)") }
        #expect(decoded.answer == Array(all[50...] + all[..<19]))
    }

    /// Authority and additional records go first: a truncated answer carries none, even when they are small.
    @Test func truncatedAnswerDropsAuthorityAndAdditional() throws {
        let q = query("db.data.svc.cluster.local.", .a, edns: EDNS(udpPayloadSize: 512))
        let small = RRSet(owner: name("ns.dns.cluster.local."), type: .a, ttl: 5, rdata: [.a(IPv4Bytes(127, 0, 0, 53))])
        let bytes = encode(
            Response(answer: [addresses("db.data.svc.cluster.local.", count: 60)], authority: [Self.soa], additional: [small]),
            to: q)
        #expect(bytes.count <= 512)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.truncated)
        #expect(decoded.answer.count == (512 - 12 - 31 - 11) / 16)
        #expect(decoded.authority.isEmpty)
        #expect(decoded.additional.isEmpty)
        #expect(decoded.edns?.udpSize == 1232, "the OPT record stays in a truncated answer")
    }

    /// A CNAME and then the records it leads to: the chain is kept and cut inside the second RRset.
    @Test func truncationCutsInsideTheSecondRRsetOfTheAnswer() throws {
        let q = query("alias.corp.example.", .a)
        let cname = RRSet(
            owner: name("alias.corp.example."), type: .cname, ttl: 5, rdata: [.cname(name("db.data.svc.cluster.local."))])
        let decoded = try LDNS.decode(
            encode(Response(answer: [cname, addresses("db.data.svc.cluster.local.", count: 60)]), to: q))
        #expect(decoded.truncated)
        #expect(decoded.answer.first == (try LDNS.canonical("alias.corp.example. 5 IN CNAME db.data.svc.cluster.local.")))
        #expect(decoded.answer.count > 20)
        #expect(decoded.size <= 512)
    }

    @Test func authorityRRsetThatDoesNotFitSetsTC() throws {
        let q = query(Self.web, .a)
        let hugeNS = RRSet(
            owner: name("cluster.local."), type: .ns, ttl: 5,
            rdata: (0..<40).map { .ns(name("nameserver-number-\($0).somewhere-else.example.")) })
        let decoded = try LDNS.decode(encode(Response(answer: [Self.webA], authority: [hugeNS]), to: q))
        #expect(decoded.truncated)
        #expect(decoded.authority.isEmpty)
        #expect(decoded.answer.count == 1)
    }

    @Test func additionalRRsetThatDoesNotFitIsDroppedWithoutTC() throws {
        let q = query(Self.web, .a)
        let small = RRSet(owner: name("ns.dns.cluster.local."), type: .a, ttl: 5, rdata: [.a(IPv4Bytes(127, 0, 0, 53))])
        let response = Response(
            authoritative: true, answer: [Self.webA],
            additional: [small, addresses("db.data.svc.cluster.local.", count: 60)])
        let bytes = encode(response, to: q)
        #expect(bytes.count <= 512)
        let decoded = try LDNS.decode(bytes)
        #expect(!decoded.truncated)
        #expect(decoded.answer == [try LDNS.canonical("\(Self.web) 5 IN A 10.96.0.10")])
        #expect(decoded.additional == [try LDNS.canonical("ns.dns.cluster.local. 5 IN A 127.0.0.53")])
    }

    /// 12 header + 31 question + 16 per compressed A record + 11 OPT: 73 records make 1222 bytes, 74 make 1238,
    /// so of 74 the first 73 go out, with TC.
    @Test(arguments: [(73, false), (74, true)])
    func ednsLimitIs1232EvenWhenTheClientOffersMore(records: Int, truncated: Bool) throws {
        let q = query("db.data.svc.cluster.local.", .a, edns: EDNS(udpPayloadSize: 4096))
        #expect(ResponseEncoder.sizeLimit(for: q, overTCP: false) == 1232)
        let bytes = encode(Response(answer: [addresses("db.data.svc.cluster.local.", count: records)]), to: q)
        #expect(bytes.count <= 1232)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.truncated == truncated)
        #expect(decoded.answer.count == (truncated ? 73 : records))
        #expect(decoded.edns?.udpSize == 1232)
        #expect(bytes.count == 12 + 31 + 16 * min(records, 73) + 11)
        // Over TCP the same answer is never truncated.
        let tcp = try LDNS.decode(
            encode(
                Response(answer: [addresses("db.data.svc.cluster.local.", count: records)]), to: q,
                limit: ResponseEncoder.sizeLimit(for: q, overTCP: true)))
        #expect(!tcp.truncated)
        #expect(tcp.answer.count == records)
    }

    struct LimitRow: Sendable, CustomTestStringConvertible {
        var udpSize: UInt16?
        var overTCP: Bool
        var limit: Int
        var testDescription: String {
            "EDNS \(udpSize.map(String.init) ?? "none") \(overTCP ? "TCP" : "UDP") → \(limit)"
        }
    }

    @Test(arguments: [
        LimitRow(udpSize: nil, overTCP: false, limit: 512),
        LimitRow(udpSize: 0, overTCP: false, limit: 512),
        LimitRow(udpSize: 100, overTCP: false, limit: 512),
        LimitRow(udpSize: 512, overTCP: false, limit: 512),
        LimitRow(udpSize: 1000, overTCP: false, limit: 1000),
        LimitRow(udpSize: 1232, overTCP: false, limit: 1232),
        LimitRow(udpSize: 1400, overTCP: false, limit: 1232),
        LimitRow(udpSize: 4096, overTCP: false, limit: 1232),
        LimitRow(udpSize: 65535, overTCP: false, limit: 1232),
        LimitRow(udpSize: nil, overTCP: true, limit: 65535),
        LimitRow(udpSize: 512, overTCP: true, limit: 65535),
        LimitRow(udpSize: 4096, overTCP: true, limit: 65535),
    ])
    func sizeLimit(_ row: LimitRow) {
        let q = query(Self.web, .a, edns: row.udpSize.map { EDNS(udpPayloadSize: $0) })
        #expect(ResponseEncoder.sizeLimit(for: q, overTCP: row.overTCP) == row.limit)
    }

    // MARK: EDNS and header

    @Test func noOPTWithoutEDNSInTheQuery() throws {
        let bytes = encode(Response(authoritative: true, answer: [Self.webA]), to: query(Self.web, .a))
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.edns == nil)
        #expect(u16(bytes, at: 10) == 0)  // ARCOUNT
    }

    @Test(arguments: [false, true])
    func optAnswersEDNSWith1232AndCopiesDO(dnssecOK: Bool) throws {
        let q = query(Self.web, .a, edns: EDNS(udpPayloadSize: 4096, version: 0, dnssecOK: dnssecOK))
        let bytes = encode(Response(authoritative: true, answer: [Self.webA]), to: q)
        let decoded = try LDNS.decode(bytes)
        let edns = try #require(decoded.edns)
        #expect(edns.udpSize == 1232)
        #expect(edns.version == 0)
        #expect(edns.dnssecOK == dnssecOK)
        #expect(u16(bytes, at: 10) == 1)  // ARCOUNT counts the OPT
        // The OPT is the last record: root owner, type 41, class = 1232, rdlength 0.
        let opt = Array(bytes.suffix(11))
        #expect(opt[0] == 0 && u16(opt, at: 1) == 41 && u16(opt, at: 3) == 1232 && u16(opt, at: 9) == 0)
    }

    @Test func badVersIsExtendedRcodeOneWithHeaderRcodeZero() throws {
        let q = query(Self.web, .a, edns: EDNS(udpPayloadSize: 1232, version: 1))
        let bytes = encode(Response(rcode: .badVersion), to: q)
        #expect(bytes[3] & 0x0F == 0)  // header RCODE: the low four bits of 16
        let opt = Array(bytes.suffix(11))
        #expect(u16(opt, at: 1) == 41)
        #expect(opt[5] == 1)  // extended RCODE: the high eight bits of 16 (RFC 6891 §6.1.3)
        #expect(opt[6] == 0)  // we answer with the version we speak
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.rcode == 16)
        #expect(decoded.rcodeName == "BADVERS")
        #expect(decoded.answer.isEmpty)
    }

    @Test func headerFlagsFollowTheQueryAndTheResponse() throws {
        // RD and CD set, and AD set (which must not be copied back by a server that does not validate).
        let q = query(Self.web, .a, id: 77, flags: 0x0100 | 0x0010 | 0x0020)
        let bytes = encode(Response(authoritative: true, recursionAvailable: false, answer: [Self.webA]), to: q)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.id == 77)
        #expect(decoded.isResponse && decoded.authoritative && decoded.recursionDesired && decoded.checkingDisabled)
        #expect(!decoded.recursionAvailable)
        #expect(bytes[3] & 0x20 == 0, "AD must not be echoed")
        let noRD = try LDNS.decode(encode(Response(answer: [Self.webA]), to: query(Self.web, .a, flags: 0)))
        #expect(!noRD.recursionDesired && !noRD.authoritative)
    }

    @Test(arguments: [(ResponseCode.formatError, "FORMERR"), (.notImplemented, "NOTIMP")])
    func errorResponseToAQueryIsAHeaderEchoingIDAndRD(rcode: ResponseCode, name: String) throws {
        let header = QueryHeader(id: 0x4242, flags: 0x0100 | 0x0010)
        var buffer: [UInt8] = [9, 9, 9]
        ResponseEncoder.encode(.error(rcode, header: header, edns: nil), limit: 512, into: &buffer)
        #expect(buffer.count == 12)
        let decoded = try LDNS.decode(buffer)
        #expect(decoded.id == 0x4242)
        #expect(decoded.isResponse)
        #expect(decoded.opcode == 0)
        #expect(decoded.recursionDesired)
        #expect(decoded.rcodeName == name)
        #expect(decoded.question.isEmpty && decoded.answer.isEmpty)
    }

    @Test(arguments: [UInt16(1), 2, 4, 5, 15])
    func errorResponseToAnotherOpcodeEchoesTheOpcodeWithEveryFlagClear(opcode: UInt16) throws {
        // RD, AD and CD (and AA, TC, Z) set in the request: RFC 1035 and RFC 4035 define them for QUERY only.
        let header = QueryHeader(id: 0x4343, flags: opcode << 11 | 0x0400 | 0x0200 | 0x0100 | 0x0040 | 0x0020 | 0x0010)
        var buffer: [UInt8] = []
        ResponseEncoder.encode(.error(.notImplemented, header: header, edns: nil), limit: 512, into: &buffer)
        #expect(buffer.count == 12)
        #expect(buffer[2] == 0x80 | UInt8(opcode << 3), "QR and the opcode; AA, TC, RD clear")
        #expect(buffer[3] == 0x04, "RA, Z, AD, CD clear; NOTIMP")
        let decoded = try LDNS.decode(buffer)
        #expect(decoded.id == 0x4343)
        #expect(decoded.opcode == Int(opcode))
        #expect(decoded.rcodeName == "NOTIMP")
    }

    @Test func oneBufferIsReusableAcrossResponses() throws {
        // One array per connection: the second message must not point into the first one's offsets.
        var buffer: [UInt8] = []
        let first = query("_postgres._tcp.db.data.svc.cluster.local.", .srv)
        ResponseEncoder.encode(.response(Response(answer: [Self.tenSRV]), to: first), limit: 65535, into: &buffer)
        let second = query("x.corp.example.", .cname)
        let cname = RRSet(
            owner: name("x.corp.example."), type: .cname, ttl: 5, rdata: [.cname(name("db.data.svc.cluster.local."))])
        ResponseEncoder.encode(.response(Response(answer: [cname]), to: second), limit: 512, into: &buffer)
        let decoded = try LDNS.decode(buffer)
        #expect(decoded.answer == [try LDNS.canonical("x.corp.example. 5 IN CNAME db.data.svc.cluster.local.")])
    }
}

/// Encodes into fixed memory (as the UDP workers do): `limit` bytes within a larger buffer filled with a
/// canary byte, so a write past what the encoder was given shows.
private func encodeIntoMemory(
    _ response: Response, to query: Query, limit: Int, memory: Int
) -> (message: [UInt8], untouched: Bool) {
    var storage = [UInt8](repeating: 0xEE, count: memory + 64)
    let length = storage.withUnsafeMutableBytes { raw in
        ResponseEncoder.encode(
            .response(response, to: query), limit: limit, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<memory]))
    }
    return (Array(storage[..<length]), storage[memory...].allSatisfy { $0 == 0xEE })
}

@Suite("ResponseEncoder into fixed memory")
struct FixedMemoryEncoderTests {
    /// Responses that fit, that are truncated at 512 and at 1232, with and without OPT, with compression,
    /// a rotated RRset and an error rcode: fixed memory must get exactly the bytes the array gets.
    static let cases: [(String, Response, Query)] = [
        ("A", Response(authoritative: true, answer: [EncoderTests.webA]), query(EncoderTests.web, .a)),
        (
            "NXDOMAIN with SOA, EDNS",
            Response(rcode: .nameError, authoritative: true, authority: [EncoderTests.soa]),
            query("nope.default.svc.cluster.local.", .a, edns: EDNS(udpPayloadSize: 1232, dnssecOK: true))
        ),
        (
            "SRV and additionals, rotated, EDNS 4096",
            Response(
                authoritative: true,
                answer: [
                    RRSet(
                        owner: EncoderTests.tenSRV.owner, type: .srv, ttl: 5, rdata: EncoderTests.tenSRV.rdata, firstRecord: 3)
                ],
                additional: [addresses("db-0.db.data.svc.cluster.local.", count: 3)]),
            query("_postgres._tcp.db.data.svc.cluster.local.", .srv, edns: EDNS(udpPayloadSize: 4096))
        ),
        ("100 A without EDNS: truncated at 512", Response(answer: [addresses("big.data.svc.cluster.local.", count: 100)]), query("big.data.svc.cluster.local.", .a)),
        (
            "300 A with EDNS 1232: truncated at 1232",
            Response(answer: [addresses("big.data.svc.cluster.local.", count: 300)]),
            query("big.data.svc.cluster.local.", .a, edns: EDNS(udpPayloadSize: 1232))
        ),
    ]

    @Test(arguments: cases)
    func sameBytesAsIntoAnArray(row: (String, Response, Query)) throws {
        let (_, response, q) = row
        let limit = ResponseEncoder.sizeLimit(for: q, overTCP: false)
        let (message, untouched) = encodeIntoMemory(response, to: q, limit: limit, memory: 1232)
        #expect(message == encode(response, to: q, limit: limit))
        #expect(untouched)
        #expect(try LDNS.decode(message).id == q.id)
    }

    @Test func memorySmallerThanTheLimitTruncatesWithinIt() throws {
        // 1232 allowed, but only 600 bytes given: the records that fit in 600 with room for OPT, TC, nothing past 600.
        let q = query("big.data.svc.cluster.local.", .a, edns: EDNS(udpPayloadSize: 1232))
        let response = Response(answer: [addresses("big.data.svc.cluster.local.", count: 60)])
        let (message, untouched) = encodeIntoMemory(response, to: q, limit: 1232, memory: 600)
        #expect(untouched)
        #expect(message.count <= 600)
        let decoded = try LDNS.decode(message)
        #expect(decoded.truncated)
        #expect(decoded.answer.count == (600 - 12 - 31 - 11) / 16)
        #expect(decoded.edns?.udpSize == 1232)
    }

    @Test func errorIntoMemoryMatchesTheArray() throws {
        let header = QueryHeader(id: 0x4242, flags: 0x0100)
        let message = OutgoingMessage.error(.formatError, header: header, edns: EDNS(udpPayloadSize: 512))
        var array: [UInt8] = []
        ResponseEncoder.encode(message, limit: 512, into: &array)
        var storage = [UInt8](repeating: 0, count: 64)
        let length = storage.withUnsafeMutableBytes { raw in ResponseEncoder.encode(message, limit: 512, into: raw) }
        #expect(Array(storage[..<length]) == array)
        #expect(try LDNS.decode(array).rcodeName == "FORMERR")
    }
}
