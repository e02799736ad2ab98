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
                 .srv(priority: 0, weight: 1, port: 5432, target: name("pod-2.db.prod.svc.cluster.local.")))
        return [cluster, file]
    }

    @Test func holdsWhatTheNodeMapHolds() throws {
        let tables = Self.tables()
        let addresses = AddressIndex(tables: tables)
        let stored = StoredSets(tables: tables)
        for (number, table) in tables.enumerated() {
            let map = table.freeze(addresses: addresses, stored: stored, table: number)
            let packed = PackedZone(table: table, number: number, stored: stored, addresses: addresses)
            var names = 0
            map.forEach { key, node in
                names += 1
                guard let packedNode = packed.node(key.bytes) else {
                    Issue.record("\(DomainName(uncheckedWire: key.bytes)) is missing")
                    return
                }
                #expect(Int(packedNode.children) == Int(node.children), "\(DomainName(uncheckedWire: key.bytes))")
                let sets = packed.sets(of: packedNode)
                #expect(sets == node.entries.map(\.rrSet))
                for (offset, entry) in node.entries.enumerated() {
                    let index = Int(packedNode.firstSet) + offset
                    #expect(packed.additional(of: index) == entry.additional)
                    #expect((packed.rotationCounter(of: index) != nil) == (entry.rotation != nil))
                }
            }
            #expect(packed.names.count == names, "no name the map lacks")
            #expect(packed.node(Self.name("nowhere.prod.svc.cluster.local.").lookupKey) == nil)
        }
        // The zone file's SRV links the cluster name's address across zones.
        let file = PackedZone(table: tables[1], number: 1, stored: stored, addresses: addresses)
        let srv = try #require(file.node(Self.name("db.example.org.").lookupKey))
        #expect(file.additional(of: Int(srv.firstSet)).map(\.owner) == [Self.name("pod-2.db.prod.svc.cluster.local.")])
    }
}
