import Foundation
import SvcDNSTesting
import Testing

/// RFC 6761 §6.3 through the real binary: `localhost.` and the names below it, and the reverse names of
/// 127.0.0.0/8 and ::1, are answered here, never forwarded (the scripted upstream counts what reaches it), and
/// an endpoint's own loopback address keeps its endpoint name.
@Suite(.serialized) struct LocalNamesTests {
    static let rows: [(name: String, type: String, rcode: String, answer: [String])] = [
        ("localhost", "A", "NOERROR", ["localhost. 3600 IN A 127.0.0.1"]),
        ("LocalHost", "AAAA", "NOERROR", ["LocalHost. 3600 IN AAAA ::1"]),
        ("app.localhost", "A", "NOERROR", ["app.localhost. 3600 IN A 127.0.0.1"]),
        ("localhost", "MX", "NOERROR", []),
        ("1.0.0.127.in-addr.arpa", "PTR", "NOERROR", ["1.0.0.127.in-addr.arpa. 5 IN PTR localhost."]),
        ("9.9.9.127.in-addr.arpa", "PTR", "NOERROR", ["9.9.9.127.in-addr.arpa. 5 IN PTR localhost."]),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", "PTR", "NOERROR",
         ["1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. 5 IN PTR localhost."]),
        // db-0's address in the example zones: its endpoint name, not localhost.
        ("1.2.0.127.in-addr.arpa", "PTR", "NOERROR", ["1.2.0.127.in-addr.arpa. 5 IN PTR db-0.db.data.svc.cluster.local."]),
    ]

    @Test func localNamesAreAnsweredHereAndNeverForwarded() async throws {
        let upstream = try await ScriptedUpstream()
        // --no-loop-probe: the start-up loop probe would be one more upstream query than these counts.
        let server = try SvcDNSProcess(
            zones: ExampleTests.zones, arguments: ["--upstream", "127.0.0.1:\(upstream.port)", "--no-loop-probe"])
        defer { server.stop() }
        for row in Self.rows {
            let reply = try TestClient.udp(try LDNS.query(row.name, row.type), port: server.dnsPort)
            let answer = try LDNS.decode(try #require(reply, "\(row.name) \(row.type)"))
            #expect(answer.rcodeName == row.rcode, "\(row.name) \(row.type)")
            #expect(answer.answer == row.answer, "\(row.name) \(row.type)")
            #expect(answer.authoritative, "\(row.name) \(row.type)")
        }
        #expect(upstream.queryCount == 0, "nothing of the host's own reached the upstream")
        // `notlocalhost.` is not below `localhost.`: it goes upstream as any other name.
        let other = try TestClient.udp(try LDNS.query("notlocalhost", "A"), port: server.dnsPort)
        #expect(try LDNS.decode(try #require(other)).answer == ["notlocalhost. 60 IN A 127.0.14.1"])
        #expect(upstream.queryCount == 1)
        await upstream.close()
    }
}
