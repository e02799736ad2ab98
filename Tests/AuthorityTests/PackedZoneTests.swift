import DNSMessage
import Testing

@testable import Authority

/// A packed zone holds what the map of nodes holds for the same table: every name (empty non-terminals too),
/// its RRsets, its count of children, the additionals of each RRset, and a rotation counter for each RRset of
/// more than one record.
@Suite struct PackedZoneTests {
    static func name(_ text: String) -> DomainName { DomainName(text)! }

    /// A cluster zone as the builder makes one: a ClusterIP Service, a headless one with three endpoints and
    /// their SRV records, the schema's fixed names, and a zone file's name beside it.
    static func tables() -> [NodeTable] {
        var cluster = NodeTable(origin: name("cluster.local."))
        cluster.add(name("cluster.local."), .ns, ttl: 5, .ns(name("ns.dns.cluster.local.")))
        cluster.add(name("dns-version.cluster.local."), .txt, ttl: 5, .txt([Array("1.1.0".utf8)]))
        cluster.addEmpty(name("svc.cluster.local."))
        cluster.add(name("web.prod.svc.cluster.local."), .a, ttl: 5, .a(IPv4Bytes(10, 96, 0, 1)))
        cluster.add(name("_http._tcp.web.prod.svc.cluster.local."), .srv, ttl: 5,
                    .srv(priority: 0, weight: 100, port: 80, target: name("web.prod.svc.cluster.local.")))
        for pod in 1...3 {
            let address = RData.a(IPv4Bytes(127, 0, 3, UInt8(pod)))
            let host = name("pod-\(pod).db.prod.svc.cluster.local.")
            cluster.add(name("db.prod.svc.cluster.local."), .a, ttl: 5, address)
            cluster.add(host, .a, ttl: 5, address)
            cluster.add(name("_pg._tcp.db.prod.svc.cluster.local."), .srv, ttl: 5,
                        .srv(priority: 0, weight: 33, port: 5432, target: host))
        }
        var file = NodeTable(origin: name("example.org."))
        file.add(name("db.example.org."), .srv, ttl: 60,
                 .srv(priority: 0, weight: 1, port: 5432, target: name("Pod-2.DB.prod.svc.cluster.local.")))
        return [cluster, file]
    }

    static func pack(_ tables: [NodeTable]) -> [PackedZone] {
        var packer = ZonePacker()
        for table in tables {
            packer.beginZone(origin: table.origin)
            packer.add(table)
        }
        return packer.finish()
    }

    @Test func holdsEveryOwnersRRsetsWithTheirAdditionals() throws {
        let tables = Self.tables()
        let addresses = AddressIndex(tables: tables)
        let zones = Self.pack(tables)
        for (number, table) in tables.enumerated() {
            let packed = zones[number]
            let owners = table.entries(addresses: addresses)
            for (key, entries) in owners {
                let node = try #require(packed.node(key), "\(DomainName(uncheckedWire: key.bytes)) is missing")
                #expect(!node.isDerived)
                #expect(packed.sets(of: node) == entries.map(\.rrSet))
                for (offset, entry) in entries.enumerated() {
                    let index = Int(node.firstSet) + offset
                    #expect(packed.additional(of: index) == Array(entry.additional))
                    #expect((packed.rotationCounter(of: index) != nil) == (entry.rotation != nil))
                    let found = try #require(packed.entry(of: entry.rrSet.type, at: node))
                    #expect(found.rrSet == entry.rrSet)
                    #expect(Array(found.additional) == Array(entry.additional))
                }
            }
            #expect(packed.node(Self.name("nowhere.prod.svc.cluster.local.").lookupKey) == nil)
            if number == 0 {
                // Owners, and the empty non-terminals above them: `prod.svc`, `_tcp.web.prod.svc`, `_tcp.db.prod.svc`.
                #expect(packed.names.count == owners.count + 3)
                let prod = try #require(packed.node(Self.name("prod.svc.cluster.local.").lookupKey))
                #expect(prod.isDerived && prod.setCount == 0 && prod.children == 2)
                let svc = try #require(packed.node(Self.name("svc.cluster.local.").lookupKey))
                #expect(!svc.isDerived && svc.setCount == 0 && svc.children == 1, "an owner with no records is no ENT")
                let apex = try #require(packed.node(Self.name("cluster.local.").lookupKey))
                #expect(apex.children == 2, "dns-version and svc")
                #expect(packed.nameServerOwners == [NameKey(Self.name("cluster.local.").lookupKey)])
                #expect(!packed.hasWildcards)
            }
        }
        // The zone file's SRV links the cluster name's address across zones, whatever the case of its target.
        let file = zones[1]
        let srv = try #require(file.node(Self.name("db.example.org.").lookupKey))
        #expect(file.additional(of: Int(srv.firstSet)).map(\.owner) == [Self.name("pod-2.db.prod.svc.cluster.local.")])
    }
}
