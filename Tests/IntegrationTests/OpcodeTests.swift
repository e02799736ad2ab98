import Foundation
import SvcDNSTesting
import Testing

/// Requests with an opcode other than QUERY, sent to the real binary over UDP and TCP: NOTIMP with the
/// ID and opcode echoed and every other flag clear, read off the wire (ISC genreport's `opcodeflg`:
/// RD, RA, AA, AD, CD, TC and Z are defined only for QUERY).
@Suite struct OpcodeTests {
    /// AA, TC, RD, Z, AD and CD all set, as a careless or hostile client may send them.
    static let everyFlag: UInt16 = 0x0400 | 0x0200 | 0x0100 | 0x0040 | 0x0020 | 0x0010

    static func request(opcode: UInt16, id: UInt16, edns: Bool) -> [UInt8] {
        RawMessage.header(id: id, flags: opcode << 11 | everyFlag, ar: edns ? 1 : 0)
            + RawMessage.question("web.default.svc.cluster.local", type: 1)
            + (edns ? RawMessage.opt(udpSize: 1232, ttl: 0x0000_8000) : [])
    }

    static func check(_ reply: [UInt8]?, opcode: UInt16, id: UInt16, edns: Bool, _ what: String) throws {
        let reply = try #require(reply, "no answer \(what)")
        #expect(reply.count >= 12, "\(what)")
        #expect(reply[0] == UInt8(id >> 8) && reply[1] == UInt8(id & 0xFF), "ID echoed \(what)")
        #expect(reply[2] == 0x80 | UInt8(opcode << 3), "QR set, opcode \(opcode) echoed, AA TC RD clear \(what): \(reply[2])")
        #expect(reply[3] == 0x04, "RA Z AD CD clear, rcode NOTIMP \(what): \(reply[3])")
        let decoded = try LDNS.decode(reply)
        #expect(decoded.rcodeName == "NOTIMP", "\(what)")
        #expect(decoded.opcode == Int(opcode), "\(what)")
        #expect(decoded.answer.isEmpty && decoded.authority.isEmpty, "\(what)")
        #expect((decoded.edns != nil) == edns, "OPT only when the request had one \(what)")
    }

    @Test func otherOpcodesGetNOTIMPWithOnlyTheOpcodeEchoed() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        var id: UInt16 = 0x0C00
        for opcode: UInt16 in [1, 2, 3, 4, 5, 6, 15] {
            for edns in [false, true] {
                id += 1
                let request = Self.request(opcode: opcode, id: id, edns: edns)
                let what = "to opcode \(opcode)\(edns ? " with EDNS" : "")"
                try Self.check(try TestClient.udp(request, port: server.dnsPort), opcode: opcode, id: id, edns: edns, "over UDP " + what)
                try Self.check(try TestClient.tcp(request, port: server.dnsPort), opcode: opcode, id: id, edns: edns, "over TCP " + what)
            }
        }
        // A QUERY with the same flags still gets its answer, with RD and CD echoed as before.
        let query = RawMessage.header(id: 0x0CFF, flags: 0x0100 | 0x0010) + RawMessage.question("web.default.svc.cluster.local")
        let reply = try #require(try TestClient.udp(query, port: server.dnsPort))
        let decoded = try LDNS.decode(reply)
        #expect(decoded.rcodeName == "NOERROR")
        #expect(decoded.recursionDesired && decoded.checkingDisabled)
        #expect(decoded.answer == ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"])
    }
}
