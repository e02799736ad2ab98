// ZoneFile.parse: a good zone read through libldns, and each rejected file's one-line `FILE:LINE: reason`.
import DNSMessage
import Testing

private func name(_ text: String) -> DomainName { DomainName(text)! }

@Suite("ZoneFile.parse")
struct ZoneFileTests {
    static let origin = name("corp.example.")

    static let goodZone = """
        ; every shape svcdns reads from a zone file
        $TTL 300
        @       IN SOA  ns1 hostmaster (
                        2026112501 ; serial
                        3600 600 604800
                        60 )       ; negative-caching TTL
                IN NS   ns1
                IN MX   10 mail
        ns1     IN A    127.0.0.53
        mail 600 IN A   127.0.3.25
        v6      IN AAAA fd00::53
        www     IN CNAME web.default.svc.cluster.local.
        _ldap._tcp IN SRV 0 100 389 ldap
        ldap    IN A    127.0.3.89
        info    IN TXT  "svcdns example zone" "second string"
        *.dev   IN A    127.0.3.99
        opaque  IN TYPE65534 \\# 3 010203

        """

    @Test func goodZoneGivesItsRecords() throws {
        let zone = try ZoneFile.parse(Self.goodZone, file: "corp.zone", origin: Self.origin)
        #expect(zone.origin == Self.origin)
        #expect(zone.origin.description == "corp.example.")
        #expect(zone.soaTTL == 300)
        #expect(
            zone.soa
                == SOAData(
                    mname: name("ns1.corp.example."), rname: name("hostmaster.corp.example."), serial: 2_026_112_501,
                    refresh: 3600, retry: 600, expire: 604800, minimum: 60))
        let expected: [ResourceRecord] = [
            ResourceRecord(owner: Self.origin, type: .ns, ttl: 300, rdata: .ns(name("ns1.corp.example."))),
            ResourceRecord(
                owner: Self.origin, type: .mx, ttl: 300,
                rdata: .mx(preference: 10, exchange: name("mail.corp.example."))),
            ResourceRecord(owner: name("ns1.corp.example."), type: .a, ttl: 300, rdata: .a(IPv4Bytes(127, 0, 0, 53))),
            ResourceRecord(owner: name("mail.corp.example."), type: .a, ttl: 600, rdata: .a(IPv4Bytes(127, 0, 3, 25))),
            ResourceRecord(
                owner: name("v6.corp.example."), type: .aaaa, ttl: 300,
                rdata: .aaaa(IPv6Bytes(high: 0xfd00 << 48, low: 0x53))),
            ResourceRecord(
                owner: name("www.corp.example."), type: .cname, ttl: 300,
                rdata: .cname(name("web.default.svc.cluster.local."))),
            ResourceRecord(
                owner: name("_ldap._tcp.corp.example."), type: .srv, ttl: 300,
                rdata: .srv(priority: 0, weight: 100, port: 389, target: name("ldap.corp.example."))),
            ResourceRecord(owner: name("ldap.corp.example."), type: .a, ttl: 300, rdata: .a(IPv4Bytes(127, 0, 3, 89))),
            ResourceRecord(
                owner: name("info.corp.example."), type: .txt, ttl: 300,
                rdata: .txt([Array("svcdns example zone".utf8), Array("second string".utf8)])),
            ResourceRecord(owner: name("*.dev.corp.example."), type: .a, ttl: 300, rdata: .a(IPv4Bytes(127, 0, 3, 99))),
            ResourceRecord(
                owner: name("opaque.corp.example."), type: RecordType(rawValue: 65534), ttl: 300,
                rdata: .opaque([1, 2, 3])),
        ]
        #expect(zone.records.count == expected.count)
        #expect(Set(zone.records) == Set(expected))
        let recordsHoldAnSOA = zone.records.contains { $0.type == .soa }
        #expect(!recordsHoldAnSOA, "the SOA is kept apart from the records")
    }

    @Test func relativeNamesResolveAgainstThePassedOrigin() throws {
        let text = """
            @ 60 IN SOA ns hostmaster 1 3600 600 604800 30
            host 60 IN A 127.0.0.7
            alias 60 IN CNAME host
            absolute.other.test. 60 IN A 127.0.0.8

            """
        let zone = try ZoneFile.parse(text, file: "other.zone", origin: name("other.test"))
        #expect(zone.origin.description == "other.test.")
        #expect(zone.soa.mname.description == "ns.other.test.")
        #expect(
            Set(zone.records)
                == [
                    ResourceRecord(
                        owner: name("host.other.test."), type: .a, ttl: 60, rdata: .a(IPv4Bytes(127, 0, 0, 7))),
                    ResourceRecord(
                        owner: name("alias.other.test."), type: .cname, ttl: 60, rdata: .cname(name("host.other.test."))
                    ),
                    ResourceRecord(
                        owner: name("absolute.other.test."), type: .a, ttl: 60, rdata: .a(IPv4Bytes(127, 0, 0, 8))),
                ])
    }

    @Test func originLineOverridesThePassedOrigin() throws {
        let text = """
            $ORIGIN inner.example.
            @ 60 IN SOA ns hostmaster 1 3600 600 604800 30
            www 60 IN A 127.0.0.9

            """
        let zone = try ZoneFile.parse(text, file: "inner.zone", origin: name("outer.test"))
        #expect(zone.origin.description == "inner.example.")
        #expect(zone.records.map(\.owner.description) == ["www.inner.example."])
    }

    struct ErrorRow: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var description: String
        var testDescription: String { name }
    }

    static let soaLine = "@ 60 IN SOA ns1 hostmaster 1 3600 600 604800 30"
    static let secondSOA = "a second SOA record; a zone has exactly one"

    @Test(arguments: [
        ErrorRow(
            name: "syntax error on line 5",
            text: "$TTL 60\n\(soaLine)\nns1 IN A 127.0.0.53\nmail IN A 127.0.3.25\n"
                + "bad IN A 999.1.2.3\nok IN A 127.0.0.1\n",
            description: "corp.zone:5: Syntax error, could not parse the RR's rdata"),
        ErrorRow(
            name: "syntax error after a multi-line SOA and comments",
            text: "; header\n\n$ORIGIN corp.example.\n@ 60 IN SOA ns1 hostmaster (\n 1 3600\n 600 604800 30 )\n"
                + "bad 60 IN A 1.2.3\n",
            description: "corp.zone:7: Syntax error, could not parse the RR's rdata"),
        ErrorRow(
            name: "syntax error on a last line without a newline",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\nbad 60 IN A 1.2.3",
            description: "corp.zone:3: Syntax error, could not parse the RR's rdata"),
        ErrorRow(
            name: "second SOA",
            text: "$TTL 60\n\(soaLine)\nns1 IN A 127.0.0.53\n\(soaLine)\n",
            description: "corp.zone:4: \(secondSOA)"),
        ErrorRow(
            name: "second SOA in lower case, its rdata over two lines",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\n\n"
                + "corp.example. 120 in soa ns1 hostmaster (\n 2 3600 600 604800 30 )\n",
            description: "corp.zone:4: \(secondSOA)"),
        ErrorRow(
            name: "second SOA whose type follows an opening parenthesis on the next line",
            text:
                "\(soaLine)\nns1 IN A 127.0.0.53\ncorp.example. ( 60 IN\n  SOA ns1 hostmaster 2 3600 600 604800 30 )\n",
            description: "corp.zone:3: \(secondSOA)"),
        ErrorRow(
            name: "second SOA written as TYPE6 (RFC 3597)",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\n@ 60 IN TYPE6 ns1 hostmaster 2 3600 600 604800 30\n",
            description: "corp.zone:3: \(secondSOA)"),
        ErrorRow(
            name: "second SOA with class CLASS1 (RFC 3597)",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\n@ 60 CLASS1 SOA ns1 hostmaster 2 3600 600 604800 30\n",
            description: "corp.zone:3: \(secondSOA)"),
        ErrorRow(
            name: "no SOA",
            text: "$TTL 60\nns1 IN A 127.0.0.53\n",
            description: "corp.zone: no SOA record; a zone file must start with one"),
        ErrorRow(
            name: "empty file",
            text: "",
            description: "corp.zone: no SOA record; a zone file must start with one"),
        ErrorRow(
            name: "record outside the zone",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\nweb.example.com. 60 IN A 127.0.0.1\n",
            description: "corp.zone:3: web.example.com. is outside the zone corp.example."),
        ErrorRow(
            name: "CNAME beside other data",
            text: "\(soaLine)\nwww 60 IN CNAME web.default.svc.cluster.local.\nwww 60 IN TXT \"also\"\n",
            description: "corp.zone:3: www.corp.example. has a CNAME and other data"),
        ErrorRow(
            name: "data libldns reads from text but not back from wire (fuzz-zone-file)",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\ncaa 60 IN CAA 0 \\# ue \"x\"\n",
            description: "corp.zone:3: CAA data that does not read back from wire form"),
        ErrorRow(
            name: "a record of class CH, which would be served as IN",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\nversion 60 CH TXT \"1.0\"\n",
            description: "corp.zone:3: class CH: svcdns serves class IN only"),
        ErrorRow(
            name: "a TTL with the top bit set (RFC 2181 §8)",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\nbig 2147483648 IN A 127.0.0.1\n",
            description: "corp.zone:3: TTL 2147483648 is over 2147483647 (RFC 2181 §8)"),
        ErrorRow(
            name: "CNAME at the apex",
            text: "\(soaLine)\n@ 60 IN CNAME web.default.svc.cluster.local.\n",
            description: "corp.zone:2: corp.example. has a CNAME and other data"),
        ErrorRow(
            name: "$INCLUDE",
            text: "\(soaLine)\nns1 IN A 127.0.0.53\n$INCLUDE other.zone\n",
            description: "corp.zone:3: Syntax error, $INCLUDE not implemented"),
    ])
    func badZoneIsRejectedWithOneLine(_ row: ErrorRow) {
        do {
            let zone = try ZoneFile.parse(row.text, file: "corp.zone", origin: Self.origin)
            Issue.record("parsed, but should fail: SOA serial \(zone.soa.serial), \(zone.records.count) records")
        } catch {
            #expect(error.description == row.description)
        }
    }
}
