import Foundation
import SvcDNSTesting
import Testing

/// `TestSecondary`, the real NSD and Knot secondaries the zone-transfer tests run against svcdns, checked
/// against a primary that already exists (NSD): each server accepts its configuration, transfers the zone,
/// answers as the primary does, and takes a change within seconds of the primary's NOTIFY.
@Suite(.serialized) struct SecondaryHarnessTests {
    static let origin = "example.test."

    /// The primary's zone at `serial`; `second` is www's second address and `note` its TXT, the records a
    /// change replaces.
    static func zone(serial: UInt32, second: String, note: String) -> String {
        [
            "$ORIGIN example.test.", "$TTL 300", "@ IN SOA ns1 hostmaster \(serial) 3600 900 604800 30", "@ IN NS ns1",
            "ns1 IN A 127.0.40.53", "www IN A 127.0.40.1", "www IN A \(second)", "www IN TXT \"\(note)\"",
            "_http._tcp IN SRV 0 10 80 www",
        ].joined(separator: "\n") + "\n"
    }

    /// The records that answer `name` `type` from the server on `port`, sorted.
    static func answer(_ name: String, _ type: String, port: Int) throws -> [String] {
        let reply = try TestClient.udp(try LDNS.query(name, type, recursionDesired: false), port: port, timeout: 2)
        let decoded = try LDNS.decode(try #require(reply, "no answer to \(name) \(type) on port \(port)"))
        #expect(decoded.rcodeName == "NOERROR" && decoded.authoritative, "\(name) \(type) on port \(port): \(decoded)")
        return decoded.answer.sorted()
    }

    static func milliseconds(_ duration: Duration) -> String {
        String(format: "%.0f ms", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
    }

    @Test(arguments: TestSecondary.Kind.allCases)
    func configurationPassesTheServersOwnCheck(kind: TestSecondary.Kind) throws {
        let folder = try TemporaryFolder()
        let configuration = TestSecondary.configuration(
            kind: kind, zones: ["cluster.local.", "10.in-addr.arpa.", "example.test."], port: 5300,
            primaryAddress: "127.0.0.2", primaryPort: 5301, folder: folder.path
        )
        try folder.write("server.conf", configuration)
        let result =
            switch kind {
            case .nsd: try Tool.run(TestSecondary.executable("nsd-checkconf"), [folder.path + "/server.conf"])
            case .knot: try Tool.run(TestSecondary.executable("knotc"), ["-c", folder.path + "/server.conf", "conf-check"])
            }
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)\n\(configuration)")
    }

    @Test(arguments: TestSecondary.Kind.allCases)
    func transfersFromAnNSDPrimaryAndFollowsItsNotify(kind: TestSecondary.Kind) throws {
        // The secondary starts first, so its first transfer fails as it will when svcdns starts after it; the
        // primary's NOTIFY (NSD sends one for every zone it loads) must bring it the zone all the same.
        let primaryPort = try SvcDNSProcess.freePort()
        let secondary = try TestSecondary(kind: kind, zones: [Self.origin], primaryPort: primaryPort)
        defer { secondary.stop() }
        let primary = try TestUpstream(
            zone: Self.zone(serial: 1, second: "127.0.40.2", note: "first"), origin: Self.origin, port: primaryPort,
            zoneOptions: ["provide-xfr: 127.0.0.0/8 NOKEY", "notify: 127.0.0.1@\(secondary.port) NOKEY"]
        )
        defer { primary.stop() }

        let first = try #require(
            secondary.waitForSerial(of: Self.origin, atLeast: 1, seconds: 10),
            "\(kind) never served serial 1; its log:\n\(secondary.log)\nthe primary's:\n\(primary.output)"
        )
        let questions = [("www.example.test.", "A"), ("www.example.test.", "TXT"), ("_http._tcp.example.test.", "SRV")]
        for (name, type) in questions {
            #expect(try Self.answer(name, type, port: secondary.port) == Self.answer(name, type, port: primary.port))
        }

        // The SOA's refresh is an hour: only the NOTIFY can bring serial 2 within 5 s.
        try primary.replaceZone(Self.zone(serial: 2, second: "127.0.40.3", note: "second"))
        let change = try #require(
            secondary.waitForSerial(of: Self.origin, atLeast: 2, seconds: 5),
            "\(kind) did not serve serial 2 within 5 s; its log:\n\(secondary.log)\nthe primary's:\n\(primary.output)"
        )
        print("\(kind.rawValue) secondary: serial 1 after \(Self.milliseconds(first)), serial 2 \(Self.milliseconds(change)) after the primary's reload")
        #expect(
            try Self.answer("www.example.test.", "A", port: secondary.port) == [
                "www.example.test. 300 IN A 127.0.40.1", "www.example.test. 300 IN A 127.0.40.3",
            ]
        )
        for (name, type) in questions {
            #expect(try Self.answer(name, type, port: secondary.port) == Self.answer(name, type, port: primary.port))
        }
    }
}
