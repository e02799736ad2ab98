// IPAddress: parsing as inet_pton does, canonical text, bytes, and the dashed form of pod and endpoint names.

import ServiceModel
import Testing

struct IPAddressTests {
    @Test(arguments: [
        ("127.0.0.1", IPAddress.v4(0x7F00_0001), "127.0.0.1", "127-0-0-1"),
        ("10.96.0.10", .v4(0x0A60_000A), "10.96.0.10", "10-96-0-10"),
        ("0.0.0.0", .v4(0), "0.0.0.0", "0-0-0-0"),
        ("255.255.255.255", .v4(0xFFFF_FFFF), "255.255.255.255", "255-255-255-255"),
        ("::1", .v6(0, 1), "::1", "--1"),
        ("::", .v6(0, 0), "::", "--"),
        ("0:0:0:0:0:0:0:1", .v6(0, 1), "::1", "--1"),
        ("2001:DB8::1", .v6(0x2001_0db8_0000_0000, 1), "2001:db8::1", "2001-db8--1"),
        (
            "2001:0db8:0000:0000:0001:0000:0000:0001", .v6(0x2001_0db8_0000_0000, 0x0001_0000_0000_0001),
            "2001:db8::1:0:0:1", "2001-db8--1-0-0-1"
        ),
        (
            "2001:db8:0:1:1:1:1:1", .v6(0x2001_0db8_0000_0001, 0x0001_0001_0001_0001), "2001:db8:0:1:1:1:1:1",
            "2001-db8-0-1-1-1-1-1"
        ),
        ("fd00:0:0:1::", .v6(0xfd00_0000_0000_0001, 0), "fd00:0:0:1::", "fd00-0-0-1--"),
        ("1:2:3:4:5:6:7::", .v6(0x0001_0002_0003_0004, 0x0005_0006_0007_0000), "1:2:3:4:5:6:7:0", "1-2-3-4-5-6-7-0"),
        ("::ffff:127.0.0.1", .v6(0, 0x0000_ffff_7f00_0001), "::ffff:127.0.0.1", "--ffff-7f00-1"),
        ("::127.0.0.1", .v6(0, 0x7f00_0001), "::7f00:1", "--7f00-1"),
        ("fe80::1:2:3:4", .v6(0xfe80_0000_0000_0000, 0x0001_0002_0003_0004), "fe80::1:2:3:4", "fe80--1-2-3-4"),
    ])
    func parsesAndFormats(text: String, address: IPAddress, canonical: String, dashed: String) {
        #expect(IPAddress(text) == address)
        #expect(address.description == canonical)
        #expect(address.dashed == dashed)
        #expect(IPAddress(dashed: dashed) == address)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "10.0.0.300", "01.2.3.4", "1.2.3.04", "1.2.3.-4", "1..2.3", " 1.2.3.4", "1.2.3.4 ",
        "+1.2.3.4", "0x7f.0.0.1", ":", ":::", "1:::2", ":1::2", "1::2:", "1::2::3", "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7", "1::2:3:4:5:6:7:8", "12345::1", "g::1", "::1%eth0", "[::1]", "::1/128", "1.2.3.4::",
        "::1.2.3.4:1", "::1.2.3", "None",
    ])
    func rejects(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test(arguments: [
        ("10-244-1-7", IPAddress.v4(0x0AF4_0107)),
        ("127-0-0-1", .v4(0x7F00_0001)),
        ("FD00--1", .v6(0xfd00_0000_0000_0000, 1)),
        ("fd00-0-0-0-0-0-0-1", .v6(0xfd00_0000_0000_0000, 1)),
    ])
    func parsesDashed(text: String, address: IPAddress) {
        #expect(IPAddress(dashed: text) == address)
    }

    @Test(arguments: [
        "127.0.0.1", "::1", "10-244-1", "10-244-1-700", "010-1-1-1", "a-b-c-d-e", "fd00---1", "web", "--ffff-1.2.3.4",
        "",
    ])
    func rejectsDashed(text: String) {
        #expect(IPAddress(dashed: text) == nil)
    }

    @Test func bytesAreInNetworkOrder() {
        #expect(IPAddress("127.1.2.3")?.bytes == [127, 1, 2, 3])
        #expect(
            IPAddress("2001:db8::102")?.bytes == [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 10) + [1, 2]
        )
        #expect(IPAddress("127.0.0.1")?.family == .ipv4)
        #expect(IPAddress("::1")?.family == .ipv6)
    }

    @Test func sortsIPv4BeforeIPv6AndNumerically() throws {
        let texts = ["::1", "127.0.0.10", "10.96.0.1", "127.0.0.9", "::", "fd00::1"]
        let sorted = try texts.map { try #require(IPAddress($0)) }.sorted().map(\.description)
        #expect(sorted == ["10.96.0.1", "127.0.0.9", "127.0.0.10", "::", "::1", "fd00::1"])
    }
}
