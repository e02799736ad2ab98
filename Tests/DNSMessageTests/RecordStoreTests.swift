// RecordStore: RRsets kept as wire bytes read back as the values they were made from, and encode to exactly the
// bytes the values encode to: with rotation, answer windows, truncation, an owner given in another case, and
// compression of the names in the data of the RFC 1035 types.
import DNSMessage
import SvcDNSTesting
import Testing

private func name(_ text: String) -> DomainName { DomainName(text)! }

private let soa = SOAData(
    mname: name("ns.dns.cluster.local."), rname: name("hostmaster.cluster.local."), serial: 7, refresh: 7200, retry: 1800,
    expire: 86400, minimum: 5
)

/// One RRset of every kind of data the encoder treats differently.
private let sets: [RRSet] = [
    RRSet(owner: name("web.prod.svc.cluster.local."), type: .a, ttl: 5, rdata: (1...5).map { .a(IPv4Bytes(127, 0, 2, $0)) }),
    RRSet(owner: name("web.prod.svc.cluster.local."), type: .aaaa, ttl: 5, rdata: [.aaaa(IPv6Bytes(high: 0xFD00 << 48, low: 7))]),
    RRSet(owner: name("db.prod.svc.cluster.local."), type: .cname, ttl: 30, rdata: [.cname(name("db.example.org."))]),
    RRSet(owner: name("cluster.local."), type: .ns, ttl: 5, rdata: [.ns(name("ns.dns.cluster.local."))]),
    RRSet(owner: name("7.2.0.127.in-addr.arpa."), type: .ptr, ttl: 5, rdata: [.ptr(name("pod-7.web.prod.svc.cluster.local."))]),
    RRSet(owner: name("example.org."), type: .mx, ttl: 60, rdata: [.mx(preference: 10, exchange: name("mail.example.org."))]),
    RRSet(owner: name("cluster.local."), type: .soa, ttl: 5, rdata: [.soa(soa)]),
    RRSet(
        owner: name("_http._tcp.web.prod.svc.cluster.local."), type: .srv, ttl: 5,
        rdata: ["pod-1", "pod-22", "pod-333"].map {
            .srv(priority: 0, weight: 33, port: 8080, target: name("\($0).web.prod.svc.cluster.local."))
        }
    ),
    RRSet(owner: name("dns-version.cluster.local."), type: .txt, ttl: 5, rdata: [.txt([Array("1.1.0".utf8), [], Array("b".utf8)])]),
    RRSet(owner: name("odd.example.org."), type: RecordType(rawValue: 65280), ttl: 5, rdata: [.opaque([1, 2, 3]), .opaque([])]),
]

/// `values` stored; with `referring`, every name in a CNAME, NS, PTR, MX or SRV record is put among the store's
/// names first and the record refers to it there.
private func storedSets(_ values: [RRSet], referring: Bool = false) -> [RRSet] {
    var builder = RecordStore.Builder()
    var starts: [DomainName: UInt32] = [:]
    if referring {
        for set in values {
            for record in set.rdata {
                let target: DomainName
                switch record {
                case .cname(let name), .ns(let name), .ptr(let name), .mx(_, let name), .srv(_, _, _, let name): target = name
                default: continue
                }
                if starts[target] == nil { starts[target] = builder.appendName(target.wire) }
            }
        }
    }
    let indices = values.map { builder.append($0, reference: referring ? { starts[$0] } : nil) }
    let store = builder.finish()
    return indices.map { store[$0] }
}

/// Each set beside its stored copy, stored both ways.
private let pairs = Array(zip(sets + sets, storedSets(sets) + storedSets(sets, referring: true)))

private func encode(_ response: Response, to query: Query, limit: Int) -> [UInt8] {
    var buffer: [UInt8] = []
    ResponseEncoder.encode(.response(response, to: query), limit: limit, into: &buffer)
    return buffer
}

@Suite struct RecordStoreTests {
    @Test func storedSetsReadBackAsTheirValues() {
        for (value, stored) in pairs {
            #expect(stored.owner == value.owner)
            #expect(stored.type == value.type)
            #expect(stored.ttl == value.ttl)
            #expect(stored.rdata == value.rdata)
            #expect(stored.recordCount == value.rdata.count)
            #expect(stored == value)
            #expect(stored.hashValue == value.hashValue)
        }
    }

    @Test(arguments: pairs)
    func aStoredSetEncodesAsItsValueDoes(_ value: RRSet, _ stored: RRSet) throws {
        // The owner as the question asked it, in another case: the answer's owner points at the question.
        let asked = Query(
            header: QueryHeader(id: 9, flags: 0x0100), name: name(value.owner.description.uppercased()), type: value.type,
            recordClass: 1, edns: nil
        )
        for (first, limit) in [(0, 0), (1, 0), (2, 2), (4, 1)] {
            var presentedValue = value
            var presentedStored = stored
            presentedValue.owner = asked.name
            presentedStored.owner = asked.name
            (presentedValue.firstRecord, presentedValue.recordLimit) = (first, limit)
            (presentedStored.firstRecord, presentedStored.recordLimit) = (first, limit)
            // Answer, authority and additional, so that names in data meet names to point at.
            let expected = Response(
                authoritative: true, answer: [presentedValue], authority: [sets[3]], additional: [sets[1]])
            let actual = Response(
                authoritative: true, answer: [presentedStored], authority: [storedSets(sets)[3]], additional: [storedSets(sets)[1]])
            for limit in [512, 65535] {
                let bytes = encode(actual, to: asked, limit: limit)
                #expect(bytes == encode(expected, to: asked, limit: limit), "\(value.type) from \(first), limit \(limit)")
                let decoded = try LDNS.decode(bytes)
                #expect(decoded.answer.count == presentedValue.presentedCount)
            }
        }
    }

    /// A stored set's owner is written from the store when none is given (the additional section's addresses).
    /// Names kept once and referred to: the store is smaller, and the targets that bring additionals read back.
    @Test func referencesKeepEachNameOnce() throws {
        let hosts = (1...3).map { name("pod-\($0).web.prod.svc.cluster.local.") }
        let srv = RRSet(
            owner: name("_http._tcp.web.prod.svc.cluster.local."), type: .srv, ttl: 5,
            rdata: hosts.map { .srv(priority: 0, weight: 33, port: 80, target: $0) })
        func store(referring: Bool) -> (store: RecordStore, srv: Int, starts: [DomainName: UInt32]) {
            var builder = RecordStore.Builder()
            var starts: [DomainName: UInt32] = [:]
            for host in hosts {
                starts[host] = builder.appendName(host.wire)
                builder.append(RRSet(owner: host, type: .a, ttl: 5, rdata: [.a(IPv4Bytes(127, 0, 2, 1))]), ownerStart: starts[host])
            }
            let index = builder.append(srv, reference: referring ? { starts[$0] } : nil)
            return (builder.finish(), index, starts)
        }
        let (referring, srvIndex, _) = store(referring: true)
        #expect(referring[srvIndex].rdata == srv.rdata)
        var targets: [DomainName] = []
        referring.forEachAdditionalTarget(of: srvIndex) { targets.append(DomainName(uncheckedWire: Array($0))) }
        #expect(targets == hosts)
        // Each target's 34 bytes become a 5-byte reference.
        #expect(store(referring: false).store.byteCount - referring.byteCount == hosts.count * (34 - 5))

        var builder = RecordStore.Builder()
        let host = builder.appendName(hosts[1].wire)
        let owner = name("1.2.0.127.in-addr.arpa.")
        let ptr = builder.appendReferences(
            type: .ptr, ttl: 5, ownerStart: builder.appendName(owner.wire), ownerLength: owner.wire.count, targets: [host])
        let pointers = builder.finish()
        #expect(pointers[ptr].rdata == [.ptr(hosts[1])])
        #expect(pointers[ptr].owner == owner)
    }

    @Test func aStoredOwnerIsWrittenFromTheStore() throws {
        let srv = storedSets(sets)[7]
        let target = RRSet(
            owner: name("pod-22.web.prod.svc.cluster.local."), type: .a, ttl: 5, rdata: [.a(IPv4Bytes(127, 0, 2, 22))])
        var builder = RecordStore.Builder()
        let index = builder.append(target)
        let store = builder.finish()
        let asked = Query(
            header: QueryHeader(id: 9, flags: 0x0100), name: srv.owner, type: .srv, recordClass: 1, edns: nil)
        let bytes = encode(Response(answer: [srv], additional: [store[index]]), to: asked, limit: 512)
        #expect(bytes == encode(Response(answer: [sets[7]], additional: [target]), to: asked, limit: 512))
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.additional == [try LDNS.canonical("pod-22.web.prod.svc.cluster.local. 5 IN A 127.0.2.22")])
    }

    /// Truncation cuts a stored set where it cuts the value: at the last whole record that fits.
    @Test func aLargeStoredSetIsTruncatedAsItsValueIs() {
        let many = RRSet(
            owner: name("big.prod.svc.cluster.local."), type: .srv, ttl: 5,
            rdata: (0..<200).map { .srv(priority: 0, weight: 1, port: 80, target: name("pod-\($0).big.prod.svc.cluster.local.")) }
        )
        var value = many
        var storedSet = storedSets([many])[0]
        (value.firstRecord, storedSet.firstRecord) = (137, 137)
        let asked = Query(header: QueryHeader(id: 1, flags: 0), name: many.owner, type: .srv, recordClass: 1, edns: nil)
        #expect(encode(Response(answer: [storedSet]), to: asked, limit: 512) == encode(Response(answer: [value]), to: asked, limit: 512))
        #expect(encode(Response(answer: [storedSet]), to: asked, limit: 65535) == encode(Response(answer: [value]), to: asked, limit: 65535))
    }

    /// A snapshot holds millions of RRsets by value: room for the store's reference costs no more than 8 bytes.
    @Test func anRRSetStaysSmall() {
        #expect(MemoryLayout<RRSet>.stride <= 48)
    }

    @Test func changingAStoredSetsRecordsMakesItAValueSet() {
        var set = storedSets(sets)[0]
        set.rdata.append(.a(IPv4Bytes(127, 0, 2, 99)))
        #expect(set.rdata.count == 6)
        #expect(set.owner == sets[0].owner)
        #expect(set.rdata.last == .a(IPv4Bytes(127, 0, 2, 99)))
    }
}
