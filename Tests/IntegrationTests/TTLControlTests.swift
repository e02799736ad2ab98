import Foundation
import SvcDNSTesting
import Testing

/// TTL control through the real binary: `--ttl` for records, `--negative-ttl` for NXDOMAIN and NODATA (the
/// SOA's TTL and MINIMUM), and a Service's `svcdns.io/ttl` for every record made from it.
@Suite(.serialized) struct TTLControlTests {
    static let zones: [String: String] = [
        "services.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: slow, namespace: default, annotations: {svcdns.io/ttl: "120"}}
            spec: {clusterIP: 10.96.0.20, ports: [{name: http, port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: docs, namespace: default, annotations: {svcdns.io/ttl: "60"}}
            spec: {type: ExternalName, externalName: docs.corp.example}
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: db
              namespace: data
              annotations: {svcdns.io/ttl: "0", svcdns.io/health-check: none}
            spec: {clusterIP: None, ports: [{name: postgres, port: 5432}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: db-1, namespace: data, labels: {kubernetes.io/service-name: db}}
            addressType: IPv4
            endpoints: [{addresses: [127.0.2.1], hostname: db-0, conditions: {ready: true}}]
            ports: [{name: postgres, port: 5432}]
            """
    ]

    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var type: String
        var rcode: String
        var answer: [String]
        /// The SOA of a negative answer, with its TTL.
        var authority: [String] = []
        var description: String { "\(name) \(type)" }
    }

    static let soa = "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local."

    static let rows: [Row] = [
        Row(name: "web.default.svc.cluster.local", type: "A", rcode: "NOERROR",
            answer: ["web.default.svc.cluster.local. 7 IN A 10.96.0.10"]),
        Row(name: "slow.default.svc.cluster.local", type: "A", rcode: "NOERROR",
            answer: ["slow.default.svc.cluster.local. 120 IN A 10.96.0.20"]),
        Row(name: "_http._tcp.slow.default.svc.cluster.local", type: "SRV", rcode: "NOERROR",
            answer: ["_http._tcp.slow.default.svc.cluster.local. 120 IN SRV 0 100 80 slow.default.svc.cluster.local."]),
        Row(name: "docs.default.svc.cluster.local", type: "CNAME", rcode: "NOERROR",
            answer: ["docs.default.svc.cluster.local. 60 IN CNAME docs.corp.example."]),
        Row(name: "db.data.svc.cluster.local", type: "A", rcode: "NOERROR",
            answer: ["db.data.svc.cluster.local. 0 IN A 127.0.2.1"]),
        Row(name: "db-0.db.data.svc.cluster.local", type: "A", rcode: "NOERROR",
            answer: ["db-0.db.data.svc.cluster.local. 0 IN A 127.0.2.1"]),
        Row(name: "nope.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", answer: [], authority: [soa]),
        Row(name: "web.default.svc.cluster.local", type: "AAAA", rcode: "NOERROR", answer: [], authority: [soa]),
        // PTRs keep --ttl: a reverse name may belong to several Services.
        Row(name: "20.0.96.10.in-addr.arpa", type: "PTR", rcode: "NOERROR",
            answer: ["20.0.96.10.in-addr.arpa. 7 IN PTR slow.default.svc.cluster.local."]),
    ]

    @Test func ttlsFollowTheFlagsAndTheAnnotation() throws {
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--ttl", "7", "--negative-ttl", "30"])
        defer { server.stop() }
        for row in Self.rows {
            let reply = try TestClient.udp(try LDNS.query(row.name, row.type), port: server.dnsPort)
            let answer = try LDNS.decode(try #require(reply, "no answer to \(row)"))
            #expect(answer.rcodeName == row.rcode, "\(row)")
            #expect(answer.answer == row.answer, "\(row)")
            // The SOA's serial changes with every build: compared up to it, with MINIMUM checked apart.
            let authority = answer.authority.map { record in
                record.split(separator: " ").prefix(6).joined(separator: " ")
            }
            #expect(authority == row.authority, "\(row)")
            for record in answer.authority {
                #expect(record.split(separator: " ").last == "30", "MINIMUM is --negative-ttl: \(record)")
            }
        }
    }
}
