import DNSMessage
import Logging
import ServiceModel
import Testing

@testable import Authority

/// Incremental updates keep their names in a map beside the packed zone; once that map holds many names, the
/// next change builds afresh, packing them in, and every answer stays what it was.
@Suite struct RepackingTests {
    static let settings = ClusterSettings(domain: DomainName("cluster.local.")!, ttl: 5, rotation: .none)

    static func service(_ number: Int) -> Service {
        Service(
            key: ObjectKey(namespace: "default", name: "web-\(number)"),
            clusterIPs: [IPAddress("10.96.\(number / 250).\(number % 250 + 1)")!])
    }

    static func address(of number: Int, in snapshot: Snapshot) -> [UInt8]? {
        let answer = snapshot.answer(name: DomainName("web-\(number).default.svc.cluster.local.")!, type: .a)?.response
        guard case .a(let address)? = answer?.answer.first?.rdata.first else { return nil }
        return address.bytes
    }

    static func changedNames(_ snapshot: Snapshot) -> Int {
        snapshot.zones.reduce(0) { $0 + $1.nodes.changeCount }
    }

    @Test func manyChangedNamesArePackedInByTheNextBuild() {
        let publisher = SnapshotPublisher(
            builder: SnapshotBuilder(settings: Self.settings), store: SnapshotStore(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var catalog = Catalog()
        catalog.insert(.service(Self.service(0)))
        publisher.update(catalog: catalog, zones: [])
        #expect(Self.changedNames(publisher.rebuildNow()) == 0, "a full build packs every name")

        // One small change stays in the map.
        catalog.insert(.service(Self.service(1)))
        publisher.update(catalog: catalog, zones: [], changedServices: [Self.service(1).key])
        var snapshot = publisher.rebuildNow()
        #expect(Self.changedNames(snapshot) > 0 && !snapshot.needsRepacking)

        // 3,000 Services at once: a name and a PTR each, over 4,096 changed names.
        let added = (2..<3002).map(Self.service)
        for service in added { catalog.insert(.service(service)) }
        publisher.update(catalog: catalog, zones: [], changedServices: Set(added.map(\.key)))
        snapshot = publisher.rebuildNow()
        #expect(snapshot.needsRepacking)
        #expect(Self.address(of: 3001, in: snapshot) == [10, 96, 12, 2])

        catalog.insert(.service(Self.service(3002)))
        publisher.update(catalog: catalog, zones: [], changedServices: [Self.service(3002).key])
        snapshot = publisher.rebuildNow()
        #expect(Self.changedNames(snapshot) == 0, "the change after many is a full build")
        for number in [0, 1, 2, 1500, 3001, 3002] {
            let expected: [UInt8] = [10, 96, UInt8(number / 250), UInt8(number % 250 + 1)]
            #expect(Self.address(of: number, in: snapshot) == expected, "web-\(number)")
        }
        #expect(snapshot.summary.names == Self.namesOfAFullBuild(catalog))
    }

    /// What a full build of `catalog` counts: the incremental path must have counted the same.
    static func namesOfAFullBuild(_ catalog: Catalog) -> Int {
        SnapshotBuilder(settings: settings).build(catalog: catalog, staticZones: [], generation: 1, serial: 1).summary.names
    }
}
