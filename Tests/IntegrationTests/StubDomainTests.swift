import Foundation
import SvcDNSTesting
import Testing

/// `--forward ZONE=ADDR` stub domains and the forwarding-loop probe, through the real binary with real NSD
/// upstreams on loopback: each name goes to the upstreams of the longest zone that holds it, the cache and
/// `--allow-recursion` apply as to any forwarded name, and two svcdns forwarding to each other find the loop
/// and refuse to forward rather than pass questions round until they time out.
@Suite(.serialized) struct StubDomainTests {
    static func zone(_ origin: String, _ records: [String]) -> String {
        ([
            "$ORIGIN \(origin)", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 900 604800 30", "@ IN NS ns1",
            "ns1 IN A 127.0.20.53",
        ] + records).joined(separator: "\n") + "\n"
    }

    static func ask(_ name: String, _ type: String = "A", at server: SvcDNSProcess) throws -> DecodedResponse {
        let reply = try TestClient.udp(try LDNS.query(name, type), port: server.dnsPort, timeout: 5)
        return try LDNS.decode(try #require(reply, "no answer to \(name) \(type)"))
    }

    @Test func eachNameGoesToTheUpstreamsOfTheLongestZoneThatHoldsIt() throws {
        // The default upstream serves upstream.test. and knows nothing below corp.upstream.test. (it would answer
        // NXDOMAIN) nor consul. (REFUSED): only the stub domains' own upstreams answer those.
        let main = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { main.stop() }
        let corp = try TestUpstream(zone: Self.zone("corp.upstream.test.", ["app IN A 127.0.20.1"]), origin: "corp.upstream.test.")
        defer { corp.stop() }
        let consul = try TestUpstream(zone: Self.zone("consul.", ["web.service IN A 127.0.30.1"]), origin: "consul.")
        defer { consul.stop() }
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones,
            arguments: [
                "--upstream", "127.0.0.1:\(main.port)", "--forward", "corp.upstream.test=127.0.0.1:\(corp.port)",
                "--forward", "consul.=127.0.0.1:\(consul.port)",
            ]
        )
        defer { server.stop() }

        for (name, address) in [
            ("www.upstream.test", "127.0.10.1"), ("app.corp.upstream.test", "127.0.20.1"),
            ("web.service.consul", "127.0.30.1"),
        ] {
            let response = try Self.ask(name, at: server)
            #expect(response.rcodeName == "NOERROR", "\(name)")
            #expect(response.answer == ["\(name). 300 IN A \(address)"], "\(name)")
            #expect(response.recursionAvailable && !response.authoritative, "\(name)")
        }
        // svcdns's own zone is still its own.
        #expect(try Self.ask("web.default.svc.cluster.local", at: server).answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])

        // corp's upstream stops: its cached name is still answered, a new one fails (it is not asked of the
        // default upstream, which would say NXDOMAIN).
        corp.stop()
        let cached = try Self.ask("app.corp.upstream.test", at: server)
        #expect(cached.rcodeName == "NOERROR")
        #expect(cached.answer.count == 1 && cached.answer[0].hasPrefix("app.corp.upstream.test. "), "\(cached.answer)")
        #expect(cached.answer.first?.hasSuffix(" IN A 127.0.20.1") == true, "\(cached.answer)")
        #expect(try Self.ask("other.corp.upstream.test", at: server).rcodeName == "SERVFAIL")
        #expect(try Self.ask("nothere.upstream.test", at: server).rcodeName == "NXDOMAIN")

        // One metric series per upstream, stub domains' included: consul's was asked the loop probe and the client's name.
        let metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        #expect(metrics.contains("svcdns_forward_requests_total{to=\"127.0.0.1:\(consul.port)\"} 2"), "\(metrics)")
    }

    @Test func withoutDefaultUpstreamsOnlyTheStubDomainsAreForwarded() throws {
        let consul = try TestUpstream(zone: Self.zone("consul.", ["web.service IN A 127.0.30.1"]), origin: "consul.")
        defer { consul.stop() }
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--upstream", "none", "--forward", "consul=127.0.0.1:\(consul.port)"]
        )
        defer { server.stop() }
        #expect(try Self.ask("web.service.consul", at: server).answer == ["web.service.consul. 300 IN A 127.0.30.1"])
        let outside = try Self.ask("www.upstream.test", at: server)
        #expect(outside.rcodeName == "REFUSED")
        #expect(outside.answer.isEmpty)

        // --allow-recursion applies to stub domains too: a client outside it is refused.
        let closed = try SvcDNSProcess(
            zones: ExampleTests.zones,
            arguments: ["--upstream", "none", "--forward", "consul=127.0.0.1:\(consul.port)", "--allow-recursion", "10.0.0.0/8"]
        )
        defer { closed.stop() }
        #expect(try Self.ask("web.service.consul", at: closed).rcodeName == "REFUSED")
    }

    @Test(arguments: [
        ("consul", "--forward consul: expected ZONE=ADDR[:PORT][,ADDR…]"),
        ("consul=here", "--forward consul=here: \"here\" is not ADDR[:PORT] or [IPv6]:PORT"),
        ("=127.0.0.1", "--forward =127.0.0.1: \"\" is not a domain name"),
    ])
    func aMalformedStubDomainStopsStartup(value: String, message: String) throws {
        let result = try Tool.run(
            try SvcDNSProcess.binaryPath(), ["serve", "--zones", ExampleTests.zones, "--forward", value], timeout: 10)
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains(message), "\(result.stdout)\(result.stderr)")
    }

    /// Two resolvers forwarding to each other: a probe one of them sends comes back to it through the other.
    /// Which one finds the loop first is a race (the first one retries its probe every second until the second
    /// starts); whichever does refuses to forward from then on, at once instead of after a timeout, says why on
    /// `/readyz` (still ready: its own zones are served) and in its log. Questions to either end in REFUSED.
    @Test func aForwardingLoopIsFoundAndForwardingRefused() throws {
        let secondPort = try SvcDNSProcess.freePort()
        let first = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(secondPort)"])
        defer { first.stop() }
        let second = try SvcDNSProcess(
            zones: ExampleTests.zones,
            arguments: ["--dns", "127.0.0.1:\(secondPort)", "--upstream", "127.0.0.1:\(first.dnsPort)"]
        )
        defer { second.stop() }
        let servers = [(first, secondPort), (second, first.dnsPort)]

        func found() throws -> [(SvcDNSProcess, Int, String)] {
            try servers.compactMap { server, upstreamPort in
                let body = try TestHTTP.request("GET", "/readyz", port: server.httpPort).body
                return body.contains("forwarding loop") ? (server, upstreamPort, body) : nil
            }
        }
        let deadline = Date().addingTimeInterval(5)
        var looped = try found()
        while looped.isEmpty && Date() < deadline {
            usleep(100_000)
            looped = try found()
        }
        #expect(!looped.isEmpty, "neither found the loop:\n\(first.output)\n\(second.output)")
        for (server, upstreamPort, body) in looped {
            let lines = body.split(separator: "\n").map(String.init)
            #expect(lines.count == 2, "\(body)")
            #expect(lines.first == "ready")
            #expect(lines.last?.hasPrefix("forwarding: refused: a forwarding loop: the probe ") == true, "\(body)")
            #expect(lines.last?.hasSuffix(".svcdns-loop-probe. to 127.0.0.1:\(upstreamPort) came back") == true, "\(body)")
            #expect(server.output.contains("forwarding loop: a probe came back, names outside the zones are refused"))
            #expect(try TestHTTP.request("GET", "/readyz", port: server.httpPort).status == 200)
        }
        for (server, _) in servers {
            let started = Date()
            #expect(try Self.ask("www.upstream.test", at: server).rcodeName == "REFUSED")
            #expect(Date().timeIntervalSince(started) < 1)
            #expect(try Self.ask("web.default.svc.cluster.local", at: server).answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
        }
    }

    /// With a real upstream the probe is answered (NXDOMAIN) and nothing is refused.
    @Test func aRealUpstreamIsNoLoop() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        defer { server.stop() }
        // The probe's request reaches NSD (one for it, none yet for a client).
        let deadline = Date().addingTimeInterval(5)
        var metrics = ""
        while !metrics.contains("svcdns_forward_requests_total{to=\"127.0.0.1:\(upstream.port)\"} 1") && Date() < deadline {
            usleep(100_000)
            metrics = try TestHTTP.request("GET", "/metrics", port: server.httpPort).body
        }
        #expect(metrics.contains("svcdns_forward_requests_total{to=\"127.0.0.1:\(upstream.port)\"} 1"), "\(metrics)")
        #expect(try TestHTTP.request("GET", "/readyz", port: server.httpPort).body == "ready\n")
        #expect(try Self.ask("www.upstream.test", at: server).answer == ["www.upstream.test. 300 IN A 127.0.10.1"])
    }
}
