import Authority
import DNSMessage
import Logging
import ServiceModel
import Testing

/// The registry numbers its changes under its lock but hands them on after releasing it, so the builder
/// may get them in another order: it keeps the catalog of the newest number, never the last to arrive.
@Suite struct SnapshotOrderTests {
    static let settings = ClusterSettings(domain: DomainName("cluster.local.")!, ttl: 5, rotation: .none)

    static func service(_ name: String, _ ip: String) -> Service {
        Service(key: ObjectKey(namespace: "default", name: name), clusterIPs: [IPAddress(ip)!])
    }

    static func addresses(_ name: String, in snapshot: Snapshot) -> [[UInt8]] {
        let response = snapshot.answer(name: DomainName("\(name).default.svc.cluster.local.")!, type: .a)?.response
        return response?.answer.flatMap { set in
            set.rdata.compactMap { rdata -> [UInt8]? in
                guard case .a(let address) = rdata else { return nil }
                return address.bytes
            }
        } ?? []
    }

    @Test func anOlderCatalogArrivingLastDoesNotUndoANewerWrite() {
        let builder = SnapshotPublisher(
            builder: SnapshotBuilder(settings: Self.settings), store: SnapshotStore(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let a = Self.service("a", "10.96.0.1")
        let b = Self.service("b", "10.96.0.2")
        var first = Catalog()
        first.insert(.service(a))
        var second = first
        second.insert(.service(b))
        builder.update(catalog: Catalog(), zones: [], sequence: 0)
        builder.rebuildNow()

        // Change 1 wrote a, change 2 wrote b; the writer of change 1 hands it on last.
        builder.update(catalog: second, zones: [], changedServices: [b.key], sequence: 2)
        builder.update(catalog: first, zones: [], changedServices: [a.key], sequence: 1)
        let snapshot = builder.rebuildNow()
        #expect(Self.addresses("a", in: snapshot) == [[10, 96, 0, 1]])
        #expect(Self.addresses("b", in: snapshot) == [[10, 96, 0, 2]], "change 2 stays, though change 1 came after it")
    }
}
