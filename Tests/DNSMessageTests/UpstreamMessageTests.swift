// MessageDecoder.decodeMessage on an upstream's response: what can be passed on is written again by svcdns
// (another message, other offsets) and read back by libldns; what cannot is refused with its reason.
import DNSMessage
import SvcDNSTesting
import Testing

/// One record of an upstream's answer, written by hand after the question `example.org.` (at offset 12, so
/// that the pointer 0xC00C names it), and what libldns must read once svcdns has written it again.
struct UpstreamRecordRow: Sendable, CustomTestStringConvertible {
    var name: String
    var type: UInt16
    var recordClass: UInt16 = 1
    var rdata: [UInt8]
    /// libldns's presentation of the relayed record, or nil when the answer must be refused.
    var relayed: String?
    var refusal: MalformedReason? = nil
    var testDescription: String { name }

    static let pointer: [UInt8] = [0xC0, 0x0C]
    static let mail: [UInt8] = [4] + Array("mail".utf8) + pointer

    static let all: [UpstreamRecordRow] = [
        UpstreamRecordRow(
            name: "MB with a compressed name", type: 7, rdata: mail, relayed: "example.org. 300 IN MB mail.example.org."),
        UpstreamRecordRow(
            name: "RP with two compressed names", type: 17, rdata: mail + pointer,
            relayed: "example.org. 300 IN RP mail.example.org. example.org."),
        UpstreamRecordRow(
            name: "NAPTR whose replacement is compressed", type: 35,
            rdata: [0, 10, 0, 20, 1, UInt8(ascii: "s"), 7] + Array("SIP+D2U".utf8) + [0] + pointer,
            relayed: "example.org. 300 IN NAPTR 10 20 \"s\" \"SIP+D2U\" \"\" example.org."),
        UpstreamRecordRow(
            name: "KX with a compressed exchanger", type: 36, rdata: [0, 5] + mail,
            relayed: "example.org. 300 IN KX 5 mail.example.org."),
        UpstreamRecordRow(
            name: "HTTPS with a compressed target", type: 65, rdata: [0, 1] + mail + [0, 1, 0, 3, 2, UInt8(ascii: "h"), UInt8(ascii: "2")],
            relayed: "example.org. 300 IN HTTPS 1 mail.example.org. alpn=h2"),
        UpstreamRecordRow(
            name: "an unknown type is copied as it came (RFC 3597)", type: 65280, rdata: [0xC0, 0x0C, 1, 2],
            relayed: "example.org. 300 IN TYPE65280 \\# 4 c00c0102"),
        UpstreamRecordRow(name: "MB with a byte after its name", type: 7, rdata: mail + [0], refusal: .truncated),
        UpstreamRecordRow(
            name: "HTTPS whose target name runs past its data", type: 65, rdata: [0, 1, 2, UInt8(ascii: "x")],
            refusal: .truncated),
        UpstreamRecordRow(name: "A of one byte", type: 1, rdata: [127], refusal: .badAddressLength),
        UpstreamRecordRow(name: "AAAA of four bytes", type: 28, rdata: [127, 0, 0, 1], refusal: .badAddressLength),
        UpstreamRecordRow(name: "A of class CH", type: 1, recordClass: 3, rdata: [127, 0, 0, 1], refusal: .notInternetClass),
    ]

    var message: [UInt8] {
        var bytes: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        bytes += [7] + Array("example".utf8) + [3] + Array("org".utf8) + [0, 0, 255, 0, 1]
        bytes += Self.pointer + [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(recordClass >> 8), UInt8(recordClass & 0xFF)]
        bytes += [0, 0, 1, 44, 0, UInt8(rdata.count)] + rdata
        return bytes
    }
}

@Suite("MessageDecoder.decodeMessage")
struct UpstreamMessageTests {
    @Test(arguments: UpstreamRecordRow.all)
    func anUpstreamRecordIsRelayedReadablyOrRefused(_ row: UpstreamRecordRow) throws {
        let decoded = row.message.withUnsafeBytes { raw in
            Result { () throws(MalformedReason) -> Message in try MessageDecoder.decodeMessage(raw) }
        }
        guard let relayed = row.relayed else {
            let refusal = try #require(row.refusal)
            #expect(throws: refusal) { try decoded.get() }
            return
        }
        let record = try decoded.get().answer[0]
        // Asked under another name, so that offset 12 holds another name than the upstream's did.
        let query = Query(
            header: QueryHeader(id: 7, flags: 0x0100), name: DomainName("a.longer.question.test.")!, type: .any,
            recordClass: 1, edns: nil)
        let set = RRSet(owner: record.owner, type: record.type, ttl: record.ttl, rdata: [record.rdata])
        var bytes: [UInt8] = []
        ResponseEncoder.encode(.response(Response(answer: [set]), to: query), limit: 512, into: &bytes)
        #expect(try LDNS.decode(bytes).answer == [try LDNS.canonical(relayed)])
    }
}
