// MessageDecoder.decodeQuery: named malformed rows (Knot style), each with its exact DecodeError,
// and well-formed queries built by libldns.
import DNSMessage
import SvcDNSTesting
import Testing

/// A named malformed message and the exact error the decoder must report for it.
struct MalformedRow: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var expected: DecodeError
    var testDescription: String { name }

    static let id: UInt16 = 0xBEEF
    static let header = QueryHeader(id: id, flags: RawMessage.queryFlags)

    static func malformed(_ reason: MalformedReason, flags: UInt16 = RawMessage.queryFlags) -> DecodeError {
        .malformed(QueryHeader(id: id, flags: flags), reason)
    }

    static let all: [MalformedRow] = {
        typealias M = RawMessage
        let id = MalformedRow.id
        let good = M.goodQuery(id: id)
        return [
            MalformedRow(name: "empty message", bytes: [], expected: .shortHeader),
            MalformedRow(name: "11-byte header", bytes: Array(good.prefix(11)), expected: .shortHeader),
            MalformedRow(
                name: "QR set (a response)", bytes: M.header(id: id, flags: 0x8100) + M.question(),
                expected: .notAQuery),
            MalformedRow(
                name: "QR set even with opcode UPDATE", bytes: M.header(id: id, flags: 0x8000 | 5 << 11) + M.question(),
                expected: .notAQuery),
            MalformedRow(
                name: "opcode 2 STATUS", bytes: M.header(id: id, flags: 2 << 11 | 0x0100) + M.question(),
                expected: .notImplemented(QueryHeader(id: id, flags: 2 << 11 | 0x0100))),
            MalformedRow(
                name: "opcode 5 UPDATE", bytes: M.header(id: id, flags: 5 << 11) + M.question(),
                expected: .notImplemented(QueryHeader(id: id, flags: 5 << 11))),
            MalformedRow(
                name: "QDCOUNT 0", bytes: M.header(id: id, qd: 0), expected: malformed(.questionCount(0))),
            MalformedRow(
                name: "QDCOUNT 2", bytes: M.header(id: id, qd: 2) + M.question() + M.question(),
                expected: malformed(.questionCount(2))),
            MalformedRow(
                name: "label runs past the end", bytes: M.header(id: id) + [5, 0x61, 0x62],
                expected: malformed(.truncated)),
            MalformedRow(
                name: "name without its root label", bytes: M.header(id: id) + [3, 0x77, 0x65, 0x62],
                expected: malformed(.truncated)),
            MalformedRow(
                name: "question cut inside QTYPE", bytes: M.header(id: id) + M.name("web.default") + [0],
                expected: malformed(.truncated)),
            MalformedRow(
                name: "question without QCLASS", bytes: M.header(id: id) + M.name("web.default") + M.u16(1),
                expected: malformed(.truncated)),
            MalformedRow(
                name: "label length 64 (0x40 bits)",
                bytes: M.header(id: id) + [64] + Array(repeating: 0x61, count: 64) + [0] + M.u16(1) + M.u16(1),
                expected: malformed(.badLabelType)),
            MalformedRow(
                name: "label type 0x80", bytes: M.header(id: id) + [0x80, 0x61, 0] + M.u16(1) + M.u16(1),
                expected: malformed(.badLabelType)),
            MalformedRow(
                name: "name over 255 bytes",
                bytes: M.header(id: id)
                    + M.name(Array(repeating: String(repeating: "x", count: 63), count: 4).joined(separator: "."))
                    + M.u16(1) + M.u16(1),
                expected: malformed(.nameTooLong)),
            MalformedRow(
                name: "compression pointer to itself", bytes: M.header(id: id) + [0xC0, 12] + M.u16(1) + M.u16(1),
                expected: malformed(.pointerLoop)),
            MalformedRow(
                name: "forward compression pointer",
                bytes: M.header(id: id) + [0xC0, 18] + M.u16(1) + M.u16(1) + [1, 0x61, 0],
                expected: malformed(.pointerLoop)),
            MalformedRow(
                name: "two pointers pointing at each other",
                // 12: label "a" then pointer to 16; 16: pointer back to 12. The second jump goes backward to a
                // label that leads forward again: the forward jump is the one refused.
                bytes: M.header(id: id) + [1, 0x61, 0xC0, 16, 0xC0, 12] + M.u16(1) + M.u16(1),
                expected: malformed(.pointerLoop)),
            MalformedRow(
                name: "pointer cut in half", bytes: M.header(id: id) + [0xC0], expected: malformed(.truncated)),
            MalformedRow(
                name: "trailing garbage after the question", bytes: good + [0xDE, 0xAD, 0xBE, 0xEF],
                expected: malformed(.trailingBytes)),
            MalformedRow(
                name: "ARCOUNT 1 but no record", bytes: M.header(id: id, ar: 1) + M.question(),
                expected: malformed(.truncated)),
            MalformedRow(
                name: "two OPT records", bytes: M.header(id: id, ar: 2) + M.question() + M.opt() + M.opt(),
                expected: malformed(.duplicateOPT)),
            MalformedRow(
                name: "OPT owned by a non-root name",
                bytes: M.header(id: id, ar: 1) + M.question() + M.opt(owner: M.name("a")),
                expected: malformed(.optNotAtRoot)),
            MalformedRow(
                name: "EDNS option longer than the rdata",
                bytes: M.header(id: id, ar: 1) + M.question() + M.opt(rdata: M.u16(10) + M.u16(8) + [1, 2]),
                expected: malformed(.badEDNSOption)),
            MalformedRow(
                name: "EDNS option header cut short",
                bytes: M.header(id: id, ar: 1) + M.question() + M.opt(rdata: [0, 10]),
                expected: malformed(.badEDNSOption)),
            MalformedRow(
                name: "OPT rdlength past the end",
                bytes: M.header(id: id, ar: 1) + M.question() + M.opt().dropLast(2) + M.u16(20),
                expected: malformed(.truncated)),
        ]
    }()
}

/// The DecodeError `decodeQuery` throws for `bytes`, or nil when it decodes.
func decodeError(_ bytes: [UInt8]) -> DecodeError? {
    do {
        _ = try MessageDecoder.decodeQuery(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite("MessageDecoder.decodeQuery")
struct DecoderTests {
    @Test(arguments: MalformedRow.all)
    func malformedQueryGivesItsNamedError(_ row: MalformedRow) {
        #expect(decodeError(row.bytes) == row.expected)
    }

    @Test func errorsCarryTheHeaderToAnswerWith() {
        #expect(DecodeError.shortHeader.header == nil)
        #expect(DecodeError.notAQuery.header == nil)
        let header = QueryHeader(id: 7, flags: 0x0100)
        #expect(DecodeError.malformed(header, .truncated).header == header)
        #expect(DecodeError.notImplemented(header).header == header)
    }

    @Test func handBuiltQueryDecodes() throws {
        let query = try MessageDecoder.decodeQuery(RawMessage.goodQuery(id: 0xBEEF))
        #expect(query.id == 0xBEEF)
        #expect(query.name.description == "web.default.svc.cluster.local.")
        #expect(query.type == .a)
        #expect(query.recordClass == 1)
        #expect(query.edns == nil)
    }

    struct GoodRow: Sendable, CustomTestStringConvertible {
        var name: String
        var type: String
        var qclass: String = "IN"
        var id: UInt16
        var udpSize: UInt16?
        var version: UInt8 = 0
        var dnssecOK = false
        var expectedType: RecordType
        var expectedClass: UInt16 = 1
        var testDescription: String { "\(name) \(qclass) \(type) edns \(udpSize.map(String.init) ?? "none")" }
    }

    @Test(arguments: [
        GoodRow(name: "web.default.svc.cluster.local.", type: "A", id: 1, expectedType: .a),
        GoodRow(name: "WeB.DeFault.svc.cluster.local.", type: "AAAA", id: 0xFFFF, expectedType: .aaaa),
        GoodRow(
            name: "_http._tcp.web.default.svc.cluster.local.", type: "SRV", id: 0x1234, udpSize: 4096,
            expectedType: .srv),
        GoodRow(name: "Web.Default.Svc.", type: "TXT", id: 42, udpSize: 1232, dnssecOK: true, expectedType: .txt),
        GoodRow(name: "cluster.local.", type: "ANY", id: 9, udpSize: 512, version: 1, expectedType: .any),
        GoodRow(name: "version.bind.", type: "TXT", qclass: "CH", id: 3, expectedType: .txt, expectedClass: 3),
        GoodRow(name: "cluster.local.", type: "TYPE65280", id: 4, expectedType: RecordType(rawValue: 65280)),
        GoodRow(name: ".", type: "NS", id: 5, udpSize: 100, expectedType: .ns),
    ])
    func libldnsQueryDecodes(_ row: GoodRow) throws {
        let bytes = try LDNS.query(
            row.name, row.type, class: row.qclass, id: row.id, udpSize: row.udpSize, ednsVersion: row.version,
            dnssecOK: row.dnssecOK)
        let query = try MessageDecoder.decodeQuery(bytes)
        #expect(query.id == row.id)
        #expect(query.name.description == row.name)  // letter case preserved
        #expect(query.type == row.expectedType)
        #expect(query.recordClass == row.expectedClass)
        #expect(query.header.recursionDesired)
        #expect(!query.header.isResponse)
        #expect(query.header.opcode == 0)
        if let udpSize = row.udpSize {
            #expect(query.edns == EDNS(udpPayloadSize: udpSize, version: row.version, dnssecOK: row.dnssecOK))
        } else {
            #expect(query.edns == nil)
        }
    }

    @Test func otherAdditionalRecordsAreSkipped() throws {
        // A TSIG-like record we do not read sits beside the OPT, its owner compressed to the question name:
        // it is skipped, not an error.
        let other: [UInt8] =
            [0xC0, 12] + RawMessage.u16(250) + RawMessage.u16(255) + RawMessage.u32(0)
            + RawMessage.u16(3) + [1, 2, 3]
        let bytes =
            RawMessage.header(id: 2, ar: 2) + RawMessage.question() + other
            + RawMessage.opt(udpSize: 2048, ttl: 0x0000_8000, rdata: RawMessage.u16(10) + RawMessage.u16(2) + [7, 7])
        let query = try MessageDecoder.decodeQuery(bytes)
        #expect(query.edns == EDNS(udpPayloadSize: 2048, version: 0, dnssecOK: true))
    }
}
