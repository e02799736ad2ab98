import DNSMessage
import ServiceModel
import Testing

@testable import Authority

/// Reverse names are written as wire bytes directly; they must be the names RFC 1035 §3.5 and RFC 3596 §2.5 give.
@Suite struct ReverseNameTests {
    @Test(arguments: [
        ("0.0.0.0", "0.0.0.0.in-addr.arpa."),
        ("10.96.0.1", "1.0.96.10.in-addr.arpa."),
        ("127.9.99.100", "100.99.9.127.in-addr.arpa."),
        ("255.254.10.199", "199.10.254.255.in-addr.arpa."),
        ("::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."),
        ("fd00:10:96::abcf", "f.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa."),
    ])
    func reverseNameOfAnAddress(address: String, expected: String) throws {
        let ip = try #require(IPAddress(address))
        let name = ReverseName.of(ip)
        #expect(name.wire == DomainName(expected)!.wire)
        #expect(ReverseName.address(of: name.lookupKey) == ip, "and back")
    }
}
