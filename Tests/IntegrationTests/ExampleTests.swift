import Foundation
import SvcDNSTesting
import Testing

/// The real binary serving the repository's own `zones/` example, queried by `dig` and `kdig` over UDP
/// and TCP: what the README's walk-through shows must hold.
@Suite(.serialized) struct ExampleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let zones = repository.appendingPathComponent("zones").path

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var type: String
        var status = "NOERROR"
        var answer: [String] = []
        var authority: [String] = []
        var additional: [String] = []
        var description: String { "\(name) \(type)" }
    }

    static let cases: [Case] = [
        Case(name: "web.default.svc.cluster.local", type: "A", answer: ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]),
        Case(
            name: "_http._tcp.web.default.svc.cluster.local", type: "SRV",
            answer: ["_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."],
            additional: ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]
        ),
        Case(
            name: "_postgres._tcp.db.data.svc.cluster.local", type: "SRV",
            answer: [
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.data.svc.cluster.local.",
                "_postgres._tcp.db.data.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.data.svc.cluster.local.",
            ],
            additional: [
                "db-0.db.data.svc.cluster.local. 5 IN A 127.0.2.1", "db-1.db.data.svc.cluster.local. 5 IN A 127.0.2.2",
            ]
        ),
        Case(
            name: "search.default.svc.cluster.local", type: "A",
            answer: [
                "search.default.svc.cluster.local. 5 IN CNAME search.corp.example.",
                "search.corp.example. 300 IN A 127.0.3.10", "search.corp.example. 300 IN A 127.0.3.11",
            ]
        ),
        Case(
            name: "www.corp.example", type: "A",
            answer: [
                "www.corp.example. 300 IN CNAME web.default.svc.cluster.local.",
                "web.default.svc.cluster.local. 5 IN A 10.96.0.10",
            ]
        ),
        Case(name: "10.0.96.10.in-addr.arpa", type: "PTR", answer: ["10.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."]),
        Case(
            name: "nope.default.svc.cluster.local", type: "A", status: "NXDOMAIN",
            authority: ["cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"]
        ),
    ]

    /// Serials change with every start; compare SOAs with the serial zeroed.
    static func withoutSerial(_ records: [String]) -> [String] {
        records.map { record in
            var fields = record.split(separator: " ").map(String.init)
            if fields.count == 11, fields[3] == "SOA" { fields[6] = "0" }
            return fields.joined(separator: " ")
        }.sorted()
    }

    @Test func digAndKdigOverUDPAndTCP() throws {
        let server = try SvcDNSProcess(zones: Self.zones)
        defer { server.stop() }
        for tool in ["dig", "kdig"] {
            for transport in ["+notcp", "+tcp"] {
                for item in Self.cases {
                    let output = try Tool.run(
                        tool,
                        ["@127.0.0.1", "-p", "\(server.dnsPort)", transport, "+noall", "+answer", "+authority", "+additional",
                         "+comments"] + (tool == "kdig" ? ["+header"] : []) + [item.name, item.type]
                    )
                    #expect(output.status == 0, "\(tool) \(transport) \(item): \(output.stderr)")
                    let parsed = try DigOutput(parsing: output.stdout)
                    let context = "\(tool) \(transport) \(item):\n\(output.stdout)"
                    #expect(parsed.status == item.status, "\(context)")
                    #expect(parsed.flags.contains("aa"), "\(context)")
                    #expect(Self.withoutSerial(parsed.answer) == Self.withoutSerial(try item.answer.map(LDNS.canonical)), "\(context)")
                    #expect(Self.withoutSerial(parsed.authority) == Self.withoutSerial(try item.authority.map(LDNS.canonical)), "\(context)")
                    #expect(parsed.additional.sorted() == (try item.additional.map(LDNS.canonical)).sorted(), "\(context)")
                }
            }
        }
    }

    @Test func namesOutsideTheZonesAreRefusedWithUpstreamNone() throws {
        let server = try SvcDNSProcess(zones: Self.zones, arguments: ["--upstream", "none"])
        defer { server.stop() }
        let output = try Tool.run("dig", ["@127.0.0.1", "-p", "\(server.dnsPort)", "+comments", "example.com", "A"])
        let parsed = try DigOutput(parsing: output.stdout)
        #expect(parsed.status == "REFUSED")
        #expect(!parsed.flags.contains("aa"))
        #expect(parsed.answer.isEmpty)
    }

    @Test func servesIPv6ListenAddresses() throws {
        let port = try SvcDNSProcess.freePort()
        let server = try SvcDNSProcess(zones: Self.zones, arguments: ["--dns", "[::1]:\(port)"])
        defer { server.stop() }
        for transport in ["+notcp", "+tcp"] {
            let output = try Tool.run("dig", ["@::1", "-p", "\(port)", transport, "+short", "db.data.svc.cluster.local", "A"])
            #expect(output.stdout.split(separator: "\n").sorted() == ["127.0.2.1", "127.0.2.2"], "\(transport): \(output)")
        }
    }

    @Test func healthzAnswersOverHTTP() throws {
        let server = try SvcDNSProcess(zones: Self.zones)
        defer { server.stop() }
        let connection = try TestClient.TCPConnection(port: server.httpPort)
        try connection.send(Array("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
        let response = String(decoding: connection.receiveAll(), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 200 OK"), "\(response)")
        #expect(response.hasSuffix("\r\n\r\nok\n"), "\(response)")
    }

    @Test func sigintStopsTheServerCleanly() throws {
        let server = try SvcDNSProcess(zones: Self.zones)
        #expect(server.stop() == 0, "\(server.output)")
        #expect(server.output.contains("serving DNS"))
    }
}
