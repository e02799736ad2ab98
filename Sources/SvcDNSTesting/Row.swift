/// One row of a query → answer table, CoreDNS `test.Case` style: records are zone-file lines,
/// canonicalised by libldns, compared sorted (order is not the point, except in rotation tests).
public struct Row: Sendable, CustomStringConvertible {
    public var name: String
    public var type: String
    public var rcode: String
    public var authoritative: Bool
    public var answer: [String]
    public var authority: [String]
    public var additional: [String]

    public init(
        _ name: String, _ type: String, rcode: String = "NOERROR", authoritative: Bool = true,
        answer: [String] = [], authority: [String] = [], additional: [String] = []
    ) {
        self.name = name
        self.type = type
        self.rcode = rcode
        self.authoritative = authoritative
        self.answer = answer
        self.authority = authority
        self.additional = additional
    }

    public var description: String { "\(name) \(type)" }

    /// The query this row sends (with EDNS, so large answers are not truncated at 512 bytes).
    public func query(id: UInt16 = 0x1234) throws -> [UInt8] {
        try LDNS.query(name, type, id: id, udpSize: 1232)
    }

    /// Every way `response` differs from the row, one line each; empty when it matches.
    public func mismatches(in response: DecodedResponse, id: UInt16 = 0x1234) throws -> [String] {
        var problems: [String] = []
        if response.id != id { problems.append("id \(response.id), expected \(id)") }
        if !response.isResponse { problems.append("QR not set") }
        if response.rcodeName != rcode { problems.append("rcode \(response.rcodeName), expected \(rcode)") }
        if response.authoritative != authoritative { problems.append("AA \(response.authoritative), expected \(authoritative)") }
        if response.truncated { problems.append("TC set") }
        let expectedQuestion = "\(name.hasSuffix(".") ? name : name + ".") IN \(type)"
        if response.question != [expectedQuestion] { problems.append("question \(response.question), expected [\(expectedQuestion)]") }
        for (section, expected, actual) in [
            ("answer", answer, response.answer), ("authority", authority, response.authority),
            ("additional", additional, response.additional),
        ] {
            let want = try expected.map(LDNS.canonical).sorted()
            let got = actual.sorted()
            if want != got {
                problems.append("\(section):\n  got      \(got.joined(separator: "\n           "))\n  expected \(want.joined(separator: "\n           "))")
            }
        }
        return problems
    }
}
