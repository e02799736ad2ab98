import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real secondaries of svcdns: NSD and Knot on loopback transfer its zones (AXFR, then IXFR after each NOTIFY),
/// answer every name of the schema exactly as svcdns does, and serve a change within 2 s of it.
@Suite(.serialized) struct SecondaryTransferTests {
    /// One object of every row of the schema svcdns can hand a secondary (pod names are made from the question,
    /// not data, and are not transferred): a dual-stack ClusterIP Service with named ports, a headless Service
    /// with hostnamed and unnamed endpoints of both families, a zone-following one, an ExternalName.
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec: {clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10, "fd00:96::10"], ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: data, annotations: {svcdns.io/health-check: none}}
        spec: {clusterIP: None, ports: [{name: postgres, port: 5432}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: db-v4, namespace: data, labels: {kubernetes.io/service-name: db}}
        addressType: IPv4
        endpoints:
        - {addresses: [127.0.2.1], hostname: db-0, zone: zone-a}
        - {addresses: [127.0.2.2], zone: zone-b}
        ports: [{name: postgres, port: 5432}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: db-v6, namespace: data, labels: {kubernetes.io/service-name: db}}
        addressType: IPv6
        endpoints:
        - {addresses: ["::1"], hostname: db-6}
        ports: [{name: postgres, port: 5433}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: near, namespace: data, annotations: {svcdns.io/health-check: none}}
        spec: {clusterIP: None, trafficDistribution: PreferSameZone}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: near-1, namespace: data, labels: {kubernetes.io/service-name: near}}
        addressType: IPv4
        endpoints:
        - {addresses: [127.0.4.1], zone: zone-a}
        - {addresses: [127.0.4.2], zone: zone-b}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: search, namespace: default}
        spec: {type: ExternalName, externalName: search.corp.example}
        """

    static let zones = ["cluster.local.", "in-addr.arpa.", "ip6.arpa.", "corp.example."]

    /// Name and type of every schema row, and of the negative answers and structure the schema names.
    static let questions: [(String, String)] = [
        ("dns-version.cluster.local.", "TXT"),
        ("cluster.local.", "SOA"), ("cluster.local.", "NS"),
        ("web.default.svc.cluster.local.", "A"), ("web.default.svc.cluster.local.", "AAAA"),
        ("_http._tcp.web.default.svc.cluster.local.", "SRV"), ("_dns._udp.web.default.svc.cluster.local.", "SRV"),
        ("10.0.96.10.in-addr.arpa.", "PTR"),
        ("0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa.", "PTR"),
        ("db.data.svc.cluster.local.", "A"), ("db.data.svc.cluster.local.", "AAAA"),
        ("_postgres._tcp.db.data.svc.cluster.local.", "SRV"),
        ("db-0.db.data.svc.cluster.local.", "A"), ("127-0-2-2.db.data.svc.cluster.local.", "A"),
        ("db-6.db.data.svc.cluster.local.", "AAAA"),
        ("1.2.0.127.in-addr.arpa.", "PTR"), ("2.2.0.127.in-addr.arpa.", "PTR"),
        ("zone-a.pin._zone.near.data.svc.cluster.local.", "A"), ("zone-b.prefer._zone.near.data.svc.cluster.local.", "A"),
        ("search.default.svc.cluster.local.", "CNAME"),
        ("www.corp.example.", "CNAME"), ("search.corp.example.", "A"), ("_ldap._tcp.corp.example.", "SRV"),
        // No data, and no such name.
        ("default.svc.cluster.local.", "A"), ("svc.cluster.local.", "A"), ("_tcp.web.default.svc.cluster.local.", "SRV"),
        ("web.default.svc.cluster.local.", "TXT"),
        ("nothing.default.svc.cluster.local.", "A"), ("web.default.svc.cluster.local.default.svc.cluster.local.", "A"),
        ("8.8.96.10.in-addr.arpa.", "PTR"),
    ]

    /// What a server answers, as compared: rcode, AA, and the answer records sorted (svcdns rotates them).
    static func answer(_ name: String, _ type: String, port: Int) throws -> String {
        let reply = try TestClient.udp(try LDNS.query(name, type, recursionDesired: false), port: port)
        let response = try LDNS.decode(try #require(reply, "no answer to \(name) \(type) from port \(port)"))
        return "\(response.rcodeName) aa=\(response.authoritative) " + response.answer.sorted().joined(separator: " | ")
    }

    @Test(arguments: TestSecondary.Kind.allCases)
    func aSecondaryAnswersAsSvcdnsAndFollowsChanges(kind: TestSecondary.Kind) throws {
        let folder = try TemporaryFolder(files: ["cluster.yaml": Self.manifests, "corp.example.zone": ZoneTransferTests.corpZone])
        // The secondary is told where svcdns will listen before svcdns starts: svcdns takes that port as a second
        // --dns address, and sends its NOTIFYs to the secondary's.
        let primaryPort = try SvcDNSProcess.freePort()
        let secondary = try TestSecondary(kind: kind, zones: Self.zones, primaryPort: primaryPort)
        defer { secondary.stop() }
        let server = try SvcDNSProcess(
            zones: folder.path,
            arguments: [
                "--dns", "127.0.0.1:\(primaryPort)", "--transfer-to", "127.0.0.0/8", "--notify", "127.0.0.1:\(secondary.port)",
                "--no-loop-probe",
            ])
        defer { server.stop() }

        for zone in Self.zones {
            let serial = try ZoneTransferTests.serial(zone, at: server)
            let took = secondary.waitForSerial(of: zone, atLeast: serial, seconds: 15)
            #expect(took != nil, "\(kind) never served \(zone) serial \(serial):\n\(secondary.log)\n\(server.output)")
        }
        for (name, type) in Self.questions {
            let expected = try Self.answer(name, type, port: server.dnsPort)
            #expect(try Self.answer(name, type, port: secondary.port) == expected, "\(kind): \(name) \(type)")
        }

        // Changes, one at a time: each is served by the secondary within 2 s, through NOTIFY and IXFR.
        var delays: [Double] = []
        for index in 1...5 {
            let name = "new\(index).default.svc.cluster.local."
            let changed = Date()
            try ZoneTransferTests.putService("new\(index)", clusterIP: "10.96.9.\(index)", at: server)
            var served: Double? = nil
            for _ in 0..<300 {
                if try Self.answer(name, "A", port: secondary.port).contains("10.96.9.\(index)") {
                    served = Date().timeIntervalSince(changed)
                    break
                }
                usleep(10_000)
            }
            let delay = try #require(served, "\(kind) did not serve \(name) within 3 s:\n\(secondary.log)")
            #expect(delay < 2, "\(kind) served \(name) \(delay) s after the change")
            delays.append(delay)
            // Quiet for a second, so each change is notified on its own.
            Thread.sleep(forTimeInterval: 1.1)
        }
        delays.sort()
        print("\(kind): change → served by the secondary, median \(Int(delays[2] * 1000)) ms, max \(Int(delays[4] * 1000)) ms")
        // The changes came by IXFR: svcdns counted IXFR questions, and the secondary holds every new name.
        let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        #expect(metrics.contains("type=\"IXFR\""), "no IXFR was asked for")
        // Applied as sent: neither fell back to a whole zone (NSD logs a failed IXFR, Knot a fallback to AXFR).
        let log = secondary.log
        #expect(!log.contains("Failed to apply IXFR") && !log.contains("fallback to AXFR"), "\(log)")
        if kind == .knot { #expect(log.contains("IXFR, incoming"), "\(log)") }
        #expect(try Self.answer("web.default.svc.cluster.local.", "A", port: secondary.port).contains("10.96.0.10"))
    }
}
