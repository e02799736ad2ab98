import Foundation
import SvcDNSTesting
import Testing

/// `--filter-aaaa` through the real binary with a real NSD upstream that has AAAA records: forwarded AAAA
/// questions get NODATA without reaching the upstream, A questions are forwarded as before, and svcdns's own
/// zones (a dual-stack Service, an ExternalName's alias) still answer from their data.
@Suite(.serialized) struct FilterAAAATests {
    static let upstreamZone = [
        "$ORIGIN upstream.test.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 900 604800 30", "@ IN NS ns1",
        "ns1 IN A 127.0.10.53", "www IN A 127.0.10.1", "www IN AAAA fd00::10:1",
    ].joined(separator: "\n") + "\n"

    static let zones = [
        "services.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: dual, namespace: default}
            spec: {clusterIP: 10.96.0.50, clusterIPs: [10.96.0.50, "fd00::50"], ipFamilies: [IPv4, IPv6]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: outside, namespace: default}
            spec: {type: ExternalName, externalName: www.upstream.test}
            """
    ]

    static func ask(_ name: String, _ type: String, at server: SvcDNSProcess) throws -> DecodedResponse {
        let reply = try TestClient.udp(try LDNS.query(name, type), port: server.dnsPort)
        return try LDNS.decode(try #require(reply, "no answer to \(name) \(type)"))
    }

    @Test(arguments: [false, true])
    func forwardedAAAAQuestionsGetNoData(filter: Bool) throws {
        let upstream = try TestUpstream(zone: Self.upstreamZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(
            zones: folder.path,
            arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--no-loop-probe"] + (filter ? ["--filter-aaaa"] : [])
        )
        defer { server.stop() }

        let aaaa = try Self.ask("www.upstream.test", "AAAA", at: server)
        #expect(aaaa.rcodeName == "NOERROR")
        #expect(aaaa.recursionAvailable && !aaaa.authoritative)
        #expect(aaaa.answer == (filter ? [] : ["www.upstream.test. 300 IN AAAA fd00::10:1"]))
        // The ExternalName's alias is svcdns's own; what it leads to is filtered as any forwarded AAAA.
        let alias = try Self.ask("outside.default.svc.cluster.local", "AAAA", at: server)
        #expect(alias.rcodeName == "NOERROR")
        #expect(
            alias.answer
                == ["outside.default.svc.cluster.local. 5 IN CNAME www.upstream.test."]
                + (filter ? [] : ["www.upstream.test. 300 IN AAAA fd00::10:1"]))
        #expect(try Self.ask("www.upstream.test", "A", at: server).answer == ["www.upstream.test. 300 IN A 127.0.10.1"])
        #expect(try Self.ask("dual.default.svc.cluster.local", "AAAA", at: server).answer == ["dual.default.svc.cluster.local. 5 IN AAAA fd00::50"])

        // Filtered questions never reached the upstream: only the A (and, unfiltered, the AAAA) did.
        let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("svcdns_forward_requests_total{to=\"127.0.0.1:\(upstream.port)\"}") }
        #expect(line?.split(separator: " ").last == (filter ? "1" : "2"), "\(String(describing: line))")
    }
}
