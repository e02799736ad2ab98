import Foundation
import SvcDNSTesting
import Testing

/// `--autopath` through the real binary with a real NSD upstream, asked as a pod in `default` asks through its
/// search list: a miss under `default.svc` is answered with the first name of the rest of the list that has
/// records (a CNAME to it, then them), in the cluster zone or upstream; anything else keeps its NXDOMAIN, and a
/// client outside `--autopath` sees no change. (glibc's view, one question instead of four, is in
/// HostResolverTests.)
@Suite(.serialized) struct AutopathTests {
    static func ask(_ name: String, _ type: String = "A", at server: SvcDNSProcess) throws -> DecodedResponse {
        let reply = try TestClient.udp(try LDNS.query(name, type), port: server.dnsPort)
        return try LDNS.decode(try #require(reply, "no answer to \(name) \(type)"))
    }

    @Test func aMissIsAnsweredFromTheRestOfTheSearchList() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones,
            arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--autopath", "127.0.0.0/8", "--no-loop-probe"]
        )
        defer { server.stop() }

        // db.data from a pod in default: db.data.svc.cluster.local, the second name of the list.
        let local = try Self.ask("db.data.default.svc.cluster.local", at: server)
        #expect(local.rcodeName == "NOERROR")
        #expect(local.authoritative)
        #expect(
            local.answer == [
                "db.data.default.svc.cluster.local. 5 IN CNAME db.data.svc.cluster.local.",
            ] + ["127.0.2.1", "127.0.2.2"].map { "db.data.svc.cluster.local. 5 IN A \($0)" }
                || local.answer == [
                    "db.data.default.svc.cluster.local. 5 IN CNAME db.data.svc.cluster.local.",
                ] + ["127.0.2.2", "127.0.2.1"].map { "db.data.svc.cluster.local. 5 IN A \($0)" },
            "\(local.answer)")

        // A name outside the cluster: the bare name, from the upstream, after the alias.
        let outside = try Self.ask("www.upstream.test.default.svc.cluster.local", at: server)
        #expect(outside.rcodeName == "NOERROR")
        #expect(outside.recursionAvailable && !outside.authoritative)
        #expect(
            outside.answer == [
                "www.upstream.test.default.svc.cluster.local. 5 IN CNAME www.upstream.test.",
                "www.upstream.test. 300 IN A 127.0.10.1",
            ])

        // Nothing anywhere (NSD refuses names outside its zone; a name of its zone that it lacks is NXDOMAIN):
        // the asked name's own NXDOMAIN, with svcdns's SOA, so the client walks on as it would have.
        for name in ["nothere.default.svc.cluster.local", "nothere.upstream.test.default.svc.cluster.local"] {
            let missing = try Self.ask(name, at: server)
            #expect(missing.rcodeName == "NXDOMAIN", "\(name)")
            #expect(missing.answer.isEmpty, "\(name)")
            #expect(missing.authority.first?.hasPrefix("cluster.local. 5 IN SOA") == true, "\(name): \(missing.authority)")
        }
        // A namespace svcdns does not know: no walk.
        #expect(try Self.ask("www.upstream.test.nons.svc.cluster.local", at: server).rcodeName == "NXDOMAIN")
        // An existing name is answered as always.
        #expect(try Self.ask("web.default.svc.cluster.local", at: server).answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])

        let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        #expect(metrics.contains("svcdns_autopath_success_total 2"), "\(metrics)")
    }

    @Test func aClientOutsideAutopathSeesNoChange() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones,
            arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--autopath", "10.0.0.0/8", "--no-loop-probe"]
        )
        defer { server.stop() }
        for name in ["db.data.default.svc.cluster.local", "www.upstream.test.default.svc.cluster.local"] {
            let response = try Self.ask(name, at: server)
            #expect(response.rcodeName == "NXDOMAIN", "\(name)")
            #expect(response.answer.isEmpty, "\(name)")
        }
    }
}
