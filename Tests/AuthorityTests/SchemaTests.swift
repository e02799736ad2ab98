import Authority
import SvcDNSTesting
import Testing

/// One row per row of the name schema (shared/k8s-dns-schema.md) and per negative case. Each row
/// runs through the query pipeline (no sockets) and again through the real server on UDP and TCP;
/// every answer is decoded by libldns, never by svcdns's own decoder.
@Suite struct SchemaTests {
    static let soa = ClusterFixture.soa
    static let v4SOA = ClusterFixture.reverseV4SOA

    static let serviceRows: [Row] = [
        Row("dns-version.cluster.local.", "TXT", answer: ["dns-version.cluster.local. 5 IN TXT \"1.1.0\""]),
        Row("web.default.svc.cluster.local.", "A", answer: ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]),
        Row("web.default.svc.cluster.local.", "AAAA", authority: [soa]),
        Row("dual.default.svc.cluster.local.", "A", answer: ["dual.default.svc.cluster.local. 5 IN A 10.96.0.20"]),
        Row("dual.default.svc.cluster.local.", "AAAA", answer: ["dual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::20"]),
        Row(
            "_http._tcp.web.default.svc.cluster.local.", "SRV",
            answer: ["_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."],
            additional: ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]
        ),
        Row(
            "_dns._udp.web.default.svc.cluster.local.", "SRV",
            answer: ["_dns._udp.web.default.svc.cluster.local. 5 IN SRV 0 100 53 web.default.svc.cluster.local."],
            additional: ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]
        ),
        Row(
            "_http._tcp.dual.default.svc.cluster.local.", "SRV",
            answer: ["_http._tcp.dual.default.svc.cluster.local. 5 IN SRV 0 100 80 dual.default.svc.cluster.local."],
            additional: [
                "dual.default.svc.cluster.local. 5 IN A 10.96.0.20",
                "dual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::20",
            ]
        ),
        Row("10.0.96.10.in-addr.arpa.", "PTR", answer: ["10.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."]),
        Row(
            "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.", "PTR",
            answer: [
                "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR dual.default.svc.cluster.local."
            ]
        ),
        // Headless: one record per ready endpoint; db-2 is not ready.
        Row(
            "db.data.svc.cluster.local.", "A",
            answer: [
                "db.data.svc.cluster.local. 5 IN A 127.0.2.1", "db.data.svc.cluster.local. 5 IN A 127.0.2.2",
                "db.data.svc.cluster.local. 5 IN A 127.0.2.4",
            ]
        ),
        Row("db.data.svc.cluster.local.", "AAAA", answer: ["db.data.svc.cluster.local. 5 IN AAAA ::1"]),
        Row(
            "_postgres._tcp.db.data.svc.cluster.local.", "SRV",
            answer: [
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 db-0.db.data.svc.cluster.local.",
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 db-1.db.data.svc.cluster.local.",
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 127-0-2-4.db.data.svc.cluster.local.",
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 --1.db.data.svc.cluster.local.",
            ],
            additional: [
                "db-0.db.data.svc.cluster.local. 5 IN A 127.0.2.1", "db-1.db.data.svc.cluster.local. 5 IN A 127.0.2.2",
                "127-0-2-4.db.data.svc.cluster.local. 5 IN A 127.0.2.4", "--1.db.data.svc.cluster.local. 5 IN AAAA ::1",
            ]
        ),
        Row("db-0.db.data.svc.cluster.local.", "A", answer: ["db-0.db.data.svc.cluster.local. 5 IN A 127.0.2.1"]),
        Row("db-0.db.data.svc.cluster.local.", "AAAA", authority: [soa]),
        Row("127-0-2-4.db.data.svc.cluster.local.", "A", answer: ["127-0-2-4.db.data.svc.cluster.local. 5 IN A 127.0.2.4"]),
        Row("--1.db.data.svc.cluster.local.", "AAAA", answer: ["--1.db.data.svc.cluster.local. 5 IN AAAA ::1"]),
        Row("db-2.db.data.svc.cluster.local.", "A", rcode: "NXDOMAIN", authority: [soa]),
        Row("1.2.0.127.in-addr.arpa.", "PTR", answer: ["1.2.0.127.in-addr.arpa. 5 IN PTR db-0.db.data.svc.cluster.local."]),
        Row(
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", "PTR",
            answer: [
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. 5 IN PTR --1.db.data.svc.cluster.local."
            ]
        ),
        // db-2 is not ready: no PTR of its own; an unknown loopback address is localhost (RFC 6761 §6.3).
        Row("3.2.0.127.in-addr.arpa.", "PTR", answer: ["3.2.0.127.in-addr.arpa. 5 IN PTR localhost."]),
        // Named targetPort: each endpoint's own port number.
        Row(
            "_redis._tcp.cache.data.svc.cluster.local.", "SRV",
            answer: [
                "_redis._tcp.cache.data.svc.cluster.local. 5 IN SRV 0 50 6379 cache-a.cache.data.svc.cluster.local.",
                "_redis._tcp.cache.data.svc.cluster.local. 5 IN SRV 0 50 6380 cache-b.cache.data.svc.cluster.local.",
            ],
            additional: [
                "cache-a.cache.data.svc.cluster.local. 5 IN A 127.0.4.1",
                "cache-b.cache.data.svc.cluster.local. 5 IN A 127.0.4.2",
            ]
        ),
        Row(
            "peers.data.svc.cluster.local.", "A",
            answer: ["peers.data.svc.cluster.local. 5 IN A 127.0.5.1", "peers.data.svc.cluster.local. 5 IN A 127.0.5.2"]
        ),
        Row(
            "_http._tcp.old.legacy.svc.cluster.local.", "SRV",
            answer: ["_http._tcp.old.legacy.svc.cluster.local. 5 IN SRV 0 100 8080 old-0.old.legacy.svc.cluster.local."],
            additional: ["old-0.old.legacy.svc.cluster.local. 5 IN A 127.0.6.1"]
        ),
        Row("old.legacy.svc.cluster.local.", "A", answer: ["old.legacy.svc.cluster.local. 5 IN A 127.0.6.1"]),
        Row("old-1.old.legacy.svc.cluster.local.", "A", rcode: "NXDOMAIN", authority: [soa]),
        // ExternalName: CNAME, chased when svcdns serves the target.
        Row(
            "search.default.svc.cluster.local.", "A",
            answer: [
                "search.default.svc.cluster.local. 5 IN CNAME search.corp.example.",
                "search.corp.example. 300 IN A 127.0.3.10", "search.corp.example. 300 IN A 127.0.3.11",
            ]
        ),
        Row("ext.default.svc.cluster.local.", "A", answer: ["ext.default.svc.cluster.local. 5 IN CNAME www.example.org."]),
        Row("ext.default.svc.cluster.local.", "CNAME", answer: ["ext.default.svc.cluster.local. 5 IN CNAME www.example.org."]),
        // Pod records, from the name alone.
        Row("127-0-0-5.default.pod.cluster.local.", "A", answer: ["127-0-0-5.default.pod.cluster.local. 5 IN A 127.0.0.5"]),
        Row("fd00--5.data.pod.cluster.local.", "AAAA", answer: ["fd00--5.data.pod.cluster.local. 5 IN AAAA fd00::5"]),
        Row("127-0-0-5.default.pod.cluster.local.", "AAAA", authority: [soa]),
        Row("not-an-ip.default.pod.cluster.local.", "A", rcode: "NXDOMAIN", authority: [soa]),
        Row("default.pod.cluster.local.", "A", authority: [soa]),
        // The apex.
        Row(
            "cluster.local.", "SOA",
            answer: ["cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2026 7200 1800 86400 5"]
        ),
        Row(
            "cluster.local.", "NS", answer: ["cluster.local. 5 IN NS ns.dns.cluster.local."],
            additional: ["ns.dns.cluster.local. 5 IN A 127.0.0.53"]
        ),
    ]

    static let negativeRows: [Row] = [
        // Empty non-terminals exist: NODATA, not NXDOMAIN.
        Row("data.svc.cluster.local.", "A", authority: [soa]),
        Row("svc.cluster.local.", "A", authority: [soa]),
        Row("pod.cluster.local.", "A", authority: [soa]),
        Row("_tcp.web.default.svc.cluster.local.", "SRV", authority: [soa]),
        Row("_http._tcp.web.default.svc.cluster.local.", "A", authority: [soa]),
        Row("single.default.svc.cluster.local.", "SRV", authority: [soa]),
        Row("nope.default.svc.cluster.local.", "A", rcode: "NXDOMAIN", authority: [soa]),
        Row("nosuchns.svc.cluster.local.", "A", rcode: "NXDOMAIN", authority: [soa]),
        Row("_http._udp.web.default.svc.cluster.local.", "SRV", rcode: "NXDOMAIN", authority: [soa]),
        Row("_8080._tcp.single.default.svc.cluster.local.", "SRV", rcode: "NXDOMAIN", authority: [soa]),
        // glibc's search list turns one lookup into these; they must be NXDOMAIN, fast.
        Row("web.default.svc.cluster.local.default.svc.cluster.local.", "A", rcode: "NXDOMAIN", authority: [soa]),
        Row("web.default.svc.cluster.local.svc.cluster.local.", "AAAA", rcode: "NXDOMAIN", authority: [soa]),
        Row("99.99.99.10.in-addr.arpa.", "PTR", rcode: "NXDOMAIN", authority: [v4SOA]),
        Row("96.10.in-addr.arpa.", "PTR", authority: [v4SOA]),
        Row("in-addr.arpa.", "SOA", answer: [v4SOA]),
    ]

    static let corp = ClusterFixture.corpSOA
    static let zoneFileRows: [Row] = [
        Row(
            "www.corp.example.", "A",
            answer: [
                "www.corp.example. 300 IN CNAME web.default.svc.cluster.local.",
                "web.default.svc.cluster.local. 5 IN A 10.96.0.10",
            ]
        ),
        Row(
            "www.corp.example.", "AAAA",
            answer: ["www.corp.example. 300 IN CNAME web.default.svc.cluster.local."], authority: [soa]
        ),
        Row(
            "corp.example.", "MX", answer: ["corp.example. 300 IN MX 10 mail.corp.example."],
            additional: ["mail.corp.example. 300 IN A 127.0.3.25"]
        ),
        Row(
            "_ldap._tcp.corp.example.", "SRV", answer: ["_ldap._tcp.corp.example. 300 IN SRV 0 100 389 ldap.corp.example."],
            additional: ["ldap.corp.example. 300 IN A 127.0.3.89"]
        ),
        Row("a.b.dev.corp.example.", "A", answer: ["a.b.dev.corp.example. 300 IN A 127.0.3.99"]),
        Row("dev.corp.example.", "A", authority: [corp]),
        Row("nothing.corp.example.", "A", rcode: "NXDOMAIN", authority: [corp]),
        Row("search.corp.example.", "TXT", authority: [corp]),
        // Below a zone cut the data is not ours: a referral, without AA (RFC 1034 §4.3.2).
        Row(
            "host.lab.corp.example.", "A", authoritative: false, authority: ["lab.corp.example. 300 IN NS ns.lab.corp.example."],
            additional: ["ns.lab.corp.example. 300 IN A 127.0.3.53"]
        ),
        Row(
            "lab.corp.example.", "NS", authoritative: false, authority: ["lab.corp.example. 300 IN NS ns.lab.corp.example."],
            additional: ["ns.lab.corp.example. 300 IN A 127.0.3.53"]
        ),
    ]

    static let allRows = serviceRows + negativeRows + zoneFileRows

    @Test(arguments: allRows)
    func throughThePipeline(_ row: Row) throws {
        let response = try #require(try Harness.answer(row.query(), from: ClusterFixture.snapshot()))
        #expect(try row.mismatches(in: response) == [], "\(response)")
    }

    @Test func overRealSockets() async throws {
        try await withTestServer(ClusterFixture.snapshot()) { server in
            for row in Self.allRows {
                let udp = try #require(try server.udp(row.query()), "no UDP answer to \(row)")
                #expect(try row.mismatches(in: udp) == [], "UDP \(row): \(udp)")
                let tcp = try #require(try server.tcp(row.query()), "no TCP answer to \(row)")
                #expect(try row.mismatches(in: tcp) == [], "TCP \(row): \(tcp)")
            }
        }
    }

    @Test func cnameLoopEndsWithTheChainSoFar() throws {
        let query = try LDNS.query("loop1.corp.example", "A", udpSize: 1232)
        let response = try #require(try Harness.answer(query, from: ClusterFixture.snapshot()))
        #expect(response.rcodeName == "NOERROR")
        #expect(response.answer.count == 9, "8 links followed after the first: \(response)")
        let allCNAMEs = response.answer.allSatisfy { $0.contains(" CNAME ") }
        #expect(allCNAMEs)
    }

    @Test func namesMatchCaseInsensitivelyAndTheQuestionKeepsTheClientsCase() throws {
        let query = try LDNS.query("WEB.Default.SVC.Cluster.Local.", "A", udpSize: 1232)
        let response = try #require(try Harness.answer(query, from: ClusterFixture.snapshot()))
        #expect(response.question == ["WEB.Default.SVC.Cluster.Local. IN A"])
        #expect(response.answer == ["WEB.Default.SVC.Cluster.Local. 5 IN A 10.96.0.10"])
        #expect(response.authoritative)
    }

    @Test func anyIsAnsweredWithOneRRSet() throws {
        let query = try LDNS.query("cluster.local.", "ANY", udpSize: 1232)
        let response = try #require(try Harness.answer(query, from: ClusterFixture.snapshot()))
        #expect(response.rcodeName == "NOERROR")
        let types = Set(response.answer.map { $0.split(separator: " ")[3] })
        #expect(types.count == 1, "RFC 8482: one RRset, got \(response.answer)")
    }
}
