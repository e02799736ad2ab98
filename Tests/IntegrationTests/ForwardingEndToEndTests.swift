import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Forwarding through the real binary to a real upstream (NSD from Debian on loopback, serving
/// `upstream.test.`): answers, the cache and its TTLs, negative caching, TCP on truncation, failover,
/// SERVFAIL when the upstreams are gone, who may recurse, and which reverse names go upstream.
@Suite(.serialized) struct ForwardingEndToEndTests {
    static func ask(
        _ name: String, _ type: String, _ server: SvcDNSProcess, udpSize: UInt16? = 1232, overTCP: Bool = false, timeout: Double = 6
    ) throws -> DecodedResponse {
        let query = try LDNS.query(name, type, udpSize: udpSize)
        let reply = overTCP
            ? try TestClient.tcp(query, port: server.dnsPort, timeout: timeout)
            : try TestClient.udp(query, port: server.dnsPort, timeout: timeout)
        return try LDNS.decode(try #require(reply, "no answer to \(name) \(type)"))
    }

    static func ttl(_ record: String) -> Int { Int(record.split(separator: " ")[1])! }

    static let zones: [String: String] = [
        "web.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: outside, namespace: default}
            spec: {type: ExternalName, externalName: www.upstream.test}
            """
    ]

    @Test func outOfZoneNamesAreForwardedCachedAndServedFromTheCacheWhenTheUpstreamIsGone() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        defer { server.stop() }

        let first = try Self.ask("www.upstream.test", "A", server)
        let firstAnswered = Date()
        #expect(first.rcodeName == "NOERROR")
        #expect(first.answer == ["www.upstream.test. 300 IN A 127.0.10.1"])
        #expect(first.recursionAvailable && !first.authoritative, "forwarded: RA set, AA clear")
        let missing = try Self.ask("nope.upstream.test", "A", server)
        #expect(missing.rcodeName == "NXDOMAIN")
        let authorityTypes = missing.authority.map { $0.split(separator: " ")[3] }
        #expect(authorityTypes == ["SOA"])

        // The cluster zone is still svcdns's own: authoritative, never from upstream.
        let own = try Self.ask("web.default.svc.cluster.local", "A", server)
        #expect(own.authoritative && !own.recursionAvailable)
        #expect(own.answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])

        upstream.stop()
        usleep(1_200_000)
        let cached = try Self.ask("www.upstream.test", "A", server)
        #expect(cached.rcodeName == "NOERROR")
        #expect(cached.answer.count == 1)
        let age = 300 - Self.ttl(try #require(cached.answer.first))
        let elapsed = Int(Date().timeIntervalSince(firstAnswered))
        #expect(age >= 1 && abs(age - elapsed) <= 1, "the TTL counts down while cached: \(cached.answer) after \(elapsed) s")
        // RFC 2308: the negative answer is kept for the SOA minimum (30 s).
        let cachedMissing = try Self.ask("nope.upstream.test", "A", server)
        #expect(cachedMissing.rcodeName == "NXDOMAIN")
        // A name never asked before, with the upstream gone: SERVFAIL, and well within 5 s.
        let started = Date()
        let failed = try Self.ask("mail.upstream.test", "A", server)
        #expect(failed.rcodeName == "SERVFAIL")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func anExternalNameLeadsOnThroughTheUpstream() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        defer { server.stop() }
        // Stub resolvers do not chase CNAMEs: the alias and its target's address come in one answer.
        for overTCP in [false, true] {
            let answer = try Self.ask("outside.default.svc.cluster.local", "A", server, overTCP: overTCP)
            #expect(answer.rcodeName == "NOERROR")
            let expected = try [
                "outside.default.svc.cluster.local. 5 IN CNAME www.upstream.test.", "www.upstream.test. 300 IN A 127.0.10.1",
            ].map(LDNS.canonical)
            #expect(answer.answer == expected)
            #expect(answer.recursionAvailable)
        }
        // Without forwarding, the alias alone, authoritative, as before.
        let alone = try SvcDNSProcess(zones: folder.path)
        defer { alone.stop() }
        let aliasOnly = try Self.ask("outside.default.svc.cluster.local", "A", alone)
        #expect(aliasOnly.answer == ["outside.default.svc.cluster.local. 5 IN CNAME www.upstream.test."])
        #expect(aliasOnly.authoritative)
    }

    @Test func aTruncatedUpstreamAnswerIsFetchedOverTCP() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        defer { server.stop() }
        // Too big for the client's UDP: TC to the client, which then asks over TCP, as resolvers do.
        let overUDP = try Self.ask("big.upstream.test", "A", server)
        #expect(overUDP.truncated)
        let overTCP = try Self.ask("big.upstream.test", "A", server, overTCP: true)
        #expect(overTCP.rcodeName == "NOERROR")
        #expect(Set(overTCP.answer).count == 100)
        #expect(upstream.output.isEmpty || !upstream.output.contains("error"))
    }

    @Test func aDeadUpstreamIsSkippedForTheNextOne() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        // A UDP socket that reads queries and never answers: the upstream that times out.
        let deadPort = try SvcDNSProcess.freePort()
        let blackHole = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(blackHole) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(deadPort).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blackHole, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)

        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(
            zones: folder.path,
            arguments: ["--upstream", "127.0.0.1:\(deadPort)", "--upstream", "127.0.0.1:\(upstream.port)", "--upstream-timeout", "500ms"]
        )
        defer { server.stop() }
        var started = Date()
        let first = try Self.ask("www.upstream.test", "A", server)
        #expect(first.answer == ["www.upstream.test. 300 IN A 127.0.10.1"])
        #expect(Date().timeIntervalSince(started) >= 0.4, "the silent upstream was tried first and timed out")
        // Marked failed: the next question goes straight to the live one.
        started = Date()
        let second = try Self.ask("mail.upstream.test", "A", server)
        #expect(second.answer == ["mail.upstream.test. 300 IN A 127.0.10.25"])
        #expect(Date().timeIntervalSince(started) < 0.4, "the failed upstream is skipped")
        #expect(server.output.contains("upstream failed"), "\(server.output)")
    }

    /// An upstream's A record of one byte, or of class CH, is not passed on: the client gets SERVFAIL, as from
    /// CoreDNS or Unbound, rather than an answer its resolver cannot read or a record turned into class IN (both
    /// found by the upstream-answer fuzz target; before, svcdns relayed the first and rewrote the second).
    @Test(arguments: ["badaddress.upstream.test", "otherclass.upstream.test"])
    func anUpstreamAnswerThatIsNotAnINAddressIsNotPassedOn(name: String) async throws {
        let upstream = try await ScriptedUpstream()
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(
            zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--upstream-timeout", "300ms"])
        defer { server.stop() }
        let bad = try Self.ask(name, "A", server)
        #expect(bad.rcodeName == "SERVFAIL")
        #expect(bad.answer.isEmpty)
        let good = try Self.ask("good.upstream.test", "A", server)
        #expect(good.rcodeName == "NOERROR")
        #expect(good.answer == ["good.upstream.test. 60 IN A 127.0.14.1"])
        await upstream.close()
    }

    @Test func onlyAllowedClientsMayRecurse() throws {
        let upstream = try TestUpstream(zone: TestUpstream.testZone, origin: TestUpstream.testOrigin)
        defer { upstream.stop() }
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(
            zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--allow-recursion", "10.0.0.0/8"]
        )
        defer { server.stop() }
        let refused = try Self.ask("www.upstream.test", "A", server)
        #expect(refused.rcodeName == "REFUSED")
        #expect(refused.answer.isEmpty)
        let own = try Self.ask("web.default.svc.cluster.local", "A", server)
        #expect(own.rcodeName == "NOERROR" && own.authoritative)
    }

    @Test func reverseNamesOutsideTheServiceNetworksGoUpstream() throws {
        let reverseZone = """
            $ORIGIN 2.0.192.in-addr.arpa.
            $TTL 300
            @ IN SOA ns1.upstream.test. hostmaster.upstream.test. 1 3600 900 604800 30
            @ IN NS ns1.upstream.test.
            1 IN PTR www.upstream.test.
            """
        // TEST-NET-1 (RFC 5737): a reverse zone only NSD on loopback serves. Loopback's own reverse names never
        // go upstream (RFC 6761).
        let upstream = try TestUpstream(zone: reverseZone, origin: "2.0.192.in-addr.arpa.")
        defer { upstream.stop() }
        let folder = try TemporaryFolder(files: Self.zones)
        let server = try SvcDNSProcess(zones: folder.path, arguments: ["--upstream", "127.0.0.1:\(upstream.port)"])
        defer { server.stop() }
        let forwarded = try Self.ask("1.2.0.192.in-addr.arpa", "PTR", server)
        #expect(forwarded.answer == ["1.2.0.192.in-addr.arpa. 300 IN PTR www.upstream.test."])
        #expect(forwarded.recursionAvailable && !forwarded.authoritative)
        // In the service network (10.96.0.0/12 by default): svcdns's own, known or not.
        let known = try Self.ask("10.0.96.10.in-addr.arpa", "PTR", server)
        #expect(known.authoritative && known.answer == ["10.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."])
        let unknown = try Self.ask("99.0.96.10.in-addr.arpa", "PTR", server)
        #expect(unknown.authoritative && unknown.rcodeName == "NXDOMAIN")
    }
}
