import Authority
import ServiceModel
import SvcDNSTesting
import Testing

/// What the health checker's verdicts do to answers: a down or not-yet-up address leaves A/AAAA, SRV and
/// its additional records, its hostname (NXDOMAIN) and its PTR; a ClusterIP stays; all down fails open.
@Suite struct HealthPruningTests {
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: data}
        spec:
          clusterIP: None
          ports: [{name: postgres, port: 5432}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: db-1, namespace: data, labels: {kubernetes.io/service-name: db}}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.2.1], hostname: db-0}
          - {addresses: [127.0.2.2], hostname: db-1}
          - {addresses: [127.0.2.3], hostname: db-2}
        ports: [{name: postgres, port: 5432}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec:
          clusterIP: 10.96.0.10
          ports: [{name: http, port: 80}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.1.1]}
        ports: [{name: http, port: 8080}]
        """

    static let db = ObjectKey(namespace: "data", name: "db")
    static let soa = TestZone.negativeSOA()
    static let reverseSOA = "in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2026 7200 1800 86400 5"

    static func verdicts(_ states: [String: EndpointHealth], service: ObjectKey = db) -> HealthVerdicts {
        HealthVerdicts(states: Dictionary(uniqueKeysWithValues: states.map { (EndpointID(service: service, address: IPAddress($0.key)!), $0.value) }))
    }

    static func check(_ rows: [Row], _ snapshot: Snapshot) throws {
        for row in rows {
            let response = try #require(try Harness.answer(row.query(), from: snapshot))
            #expect(try row.mismatches(in: response) == [], "\(row): \(response)")
        }
    }

    @Test func aDownAddressLeavesEveryAnswer() throws {
        let snapshot = try TestZone.snapshot(
            manifests: Self.manifests, health: Self.verdicts(["127.0.2.1": .up, "127.0.2.2": .down, "127.0.2.3": .up])
        )
        try Self.check([
            Row("db.data.svc.cluster.local.", "A", answer: ["db.data.svc.cluster.local. 5 IN A 127.0.2.1", "db.data.svc.cluster.local. 5 IN A 127.0.2.3"]),
            Row(
                "_postgres._tcp.db.data.svc.cluster.local.", "SRV",
                answer: [
                    "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.data.svc.cluster.local.",
                    "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 5432 db-2.db.data.svc.cluster.local.",
                ],
                additional: ["db-0.db.data.svc.cluster.local. 5 IN A 127.0.2.1", "db-2.db.data.svc.cluster.local. 5 IN A 127.0.2.3"]
            ),
            Row("db-1.db.data.svc.cluster.local.", "A", rcode: "NXDOMAIN", authority: [Self.soa]),
            // The down endpoint's name is gone from its PTR; an unknown loopback address is localhost (RFC 6761).
            Row("2.2.0.127.in-addr.arpa.", "PTR", answer: ["2.2.0.127.in-addr.arpa. 5 IN PTR localhost."]),
            Row("1.2.0.127.in-addr.arpa.", "PTR", answer: ["1.2.0.127.in-addr.arpa. 5 IN PTR db-0.db.data.svc.cluster.local."]),
        ], snapshot)
    }

    @Test func anAddressNotYetUpIsNotServed() throws {
        let snapshot = try TestZone.snapshot(
            manifests: Self.manifests, health: Self.verdicts(["127.0.2.1": .up, "127.0.2.2": .pending, "127.0.2.3": .pending])
        )
        try Self.check([Row("db.data.svc.cluster.local.", "A", answer: ["db.data.svc.cluster.local. 5 IN A 127.0.2.1"])], snapshot)
    }

    @Test func everyAddressDownFailsOpen() throws {
        let snapshot = try TestZone.snapshot(
            manifests: Self.manifests, health: Self.verdicts(["127.0.2.1": .down, "127.0.2.2": .down, "127.0.2.3": .pending])
        )
        #expect(snapshot.summary.failOpenServices == [Self.db])
        try Self.check([
            Row(
                "db.data.svc.cluster.local.", "A",
                answer: [
                    "db.data.svc.cluster.local. 5 IN A 127.0.2.1", "db.data.svc.cluster.local. 5 IN A 127.0.2.2",
                    "db.data.svc.cluster.local. 5 IN A 127.0.2.3",
                ]
            ),
            Row("db-1.db.data.svc.cluster.local.", "A", answer: ["db-1.db.data.svc.cluster.local. 5 IN A 127.0.2.2"]),
        ], snapshot)
    }

    @Test func failClosedAnswersWithNoRecords() throws {
        let snapshot = try TestZone.snapshot(
            manifests: Self.manifests, health: Self.verdicts(["127.0.2.1": .down, "127.0.2.2": .down, "127.0.2.3": .down]),
            failOpen: false
        )
        #expect(snapshot.summary.failOpenServices == [])
        try Self.check([
            Row("db.data.svc.cluster.local.", "A", authority: [Self.soa]),
            Row("_postgres._tcp.db.data.svc.cluster.local.", "SRV", authority: [Self.soa]),
            Row("db-0.db.data.svc.cluster.local.", "A", rcode: "NXDOMAIN", authority: [Self.soa]),
        ], snapshot)
    }

    @Test func aClusterIPServiceKeepsItsVirtualAddress() throws {
        let web = ObjectKey(namespace: "default", name: "web")
        let snapshot = try TestZone.snapshot(manifests: Self.manifests, health: Self.verdicts(["127.0.1.1": .down], service: web))
        try Self.check([Row("web.default.svc.cluster.local.", "A", answer: ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])], snapshot)
    }
}
