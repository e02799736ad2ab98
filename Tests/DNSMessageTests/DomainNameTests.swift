// DomainName: presentation form in and out, case-insensitive identity, subdomain tests.
import DNSMessage
import Testing

@Suite("DomainName")
struct DomainNameTests {
    /// Presentation text → the wire bytes it must give.
    struct ParseRow: Sendable, CustomTestStringConvertible {
        var text: String
        var wire: [UInt8]
        var testDescription: String { "\"\(text)\"" }
    }

    @Test(arguments: [
        ParseRow(text: "web.default.svc.cluster.local.", wire: wire(["web", "default", "svc", "cluster", "local"])),
        ParseRow(text: "web.default.svc.cluster.local", wire: wire(["web", "default", "svc", "cluster", "local"])),
        ParseRow(text: ".", wire: [0]),
        ParseRow(text: "a\\.b.example.", wire: wire(["a.b", "example"])),
        ParseRow(text: "\\065bc.example", wire: wire(["Abc", "example"])),
        ParseRow(text: "x\\\\y.example", wire: wire(["x\\y", "example"])),
        ParseRow(text: "\\000.example", wire: [1, 0] + wire(["example"])),
        ParseRow(text: "MiXeD.Case.", wire: wire(["MiXeD", "Case"])),
        ParseRow(
            text: String(repeating: "a", count: 63) + ".example.",
            wire: wire([String(repeating: "a", count: 63), "example"])),
    ])
    func parsesPresentationForm(_ row: ParseRow) throws {
        let name = try #require(DomainName(row.text))
        #expect(name.wire == row.wire)
    }

    @Test(arguments: [
        "a..b.", "..", ".a.", "web..svc",
        String(repeating: "a", count: 64) + ".example.",
        "\\256.example.", "\\12", "trailing\\",
        // 4 × 63-byte labels = 256 bytes of labels + root: over 255.
        Array(repeating: String(repeating: "x", count: 63), count: 4).joined(separator: "."),
    ])
    func rejectsInvalidNames(_ text: String) {
        #expect(DomainName(text) == nil, "\(text) should not parse")
    }

    @Test func acceptsExactly255Bytes() throws {
        // 3 × 63 + 61 = 250 bytes of label data + 4 length bytes + root = 255.
        let labels = Array(repeating: String(repeating: "x", count: 63), count: 3) + [String(repeating: "y", count: 61)]
        let name = try #require(DomainName(labels.joined(separator: ".")))
        #expect(name.wire.count == 255)
        #expect(DomainName(labels.joined(separator: ".") + ".") != nil)
        #expect(DomainName("z." + labels.joined(separator: ".")) == nil)
    }

    @Test func equalityAndHashingIgnoreASCIICase() throws {
        let lower = try #require(DomainName("web.default.svc.cluster.local."))
        let mixed = try #require(DomainName("WeB.DeFault.SVC.cluster.LOCAL"))
        #expect(lower == mixed)
        #expect(lower.hashValue == mixed.hashValue)
        #expect(Set([lower, mixed]).count == 1)
        let dictionary = [lower: 1]
        #expect(dictionary[mixed] == 1)
        // The written case is kept, even though the names compare equal (RFC 4343 §4.1).
        #expect(mixed.wire != lower.wire)
        #expect(mixed.description == "WeB.DeFault.SVC.cluster.LOCAL.")
        #expect(DomainName("web.default.svc.cluster.local") != DomainName("web.default.svc.cluster.locam"))
    }

    @Test func caseFoldingIsASCIIOnly() throws {
        // \195 and \227 differ by 0x20 but are not letters: they must not be folded together.
        let upper = try #require(DomainName("\\195.example"))
        let lower = try #require(DomainName("\\227.example"))
        #expect(upper != lower)
    }

    @Test func lookupKeyIsLowercasedWire() throws {
        let name = try #require(DomainName("WEB.Default.svc.CLUSTER.local."))
        #expect(name.lookupKey == wire(["web", "default", "svc", "cluster", "local"]))
        #expect(name.lookupKey == DomainName("web.default.svc.cluster.local")!.lookupKey)
    }

    struct SubdomainRow: Sendable, CustomTestStringConvertible {
        var name: String
        var ancestor: String
        var expected: Bool
        var testDescription: String { "\(name) under \(ancestor): \(expected)" }
    }

    @Test(arguments: [
        SubdomainRow(name: "web.default.svc.cluster.local.", ancestor: "cluster.local.", expected: true),
        SubdomainRow(name: "WEB.default.svc.Cluster.Local.", ancestor: "cluster.LOCAL.", expected: true),
        SubdomainRow(name: "cluster.local.", ancestor: "cluster.local.", expected: true),
        SubdomainRow(name: "anything.example.", ancestor: ".", expected: true),
        SubdomainRow(name: "cluster.local.", ancestor: "svc.cluster.local.", expected: false),
        // Label boundaries count: "xcluster.local." does not lie below "cluster.local.".
        SubdomainRow(name: "xcluster.local.", ancestor: "cluster.local.", expected: false),
        SubdomainRow(name: "a.bcluster.local.", ancestor: "cluster.local.", expected: false),
        SubdomainRow(name: "web.example.com.", ancestor: "cluster.local.", expected: false),
    ])
    func isSubdomain(_ row: SubdomainRow) throws {
        let name = try #require(DomainName(row.name))
        let ancestor = try #require(DomainName(row.ancestor))
        #expect(name.isSubdomain(of: ancestor) == row.expected)
    }

    @Test(arguments: [
        "web.default.svc.cluster.local.", ".", "a\\.b.example.", "sp\\032ace.example.", "semi\\;colon.example.",
        "\\000\\001\\255.example.", "at\\@dollar\\$.example.", "paren\\(\\).quote\\\".example.", "back\\\\slash.",
        "MiXeD.CaSe.",
    ])
    func descriptionReadsBackAsTheSameName(_ text: String) throws {
        let name = try #require(DomainName(text))
        #expect(name.description == text)
        let again = try #require(DomainName(name.description))
        #expect(again.wire == name.wire)
    }

    @Test func descriptionEscapesNonPrintableBytes() throws {
        let name = DomainName(uncheckedWire: [3, 0x20, 0x2E, 0x7F, 0])
        #expect(name.description == "\\032\\.\\127.")
        #expect(DomainName(name.description)?.wire == name.wire)
    }
}

/// Wire form of a name given as labels, for expectations written without the code under test.
func wire(_ labels: [String]) -> [UInt8] {
    labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
}
