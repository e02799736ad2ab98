import CLDNS
import DNSMessage

#if canImport(Glibc)
import Glibc
#endif

/// A response as libldns reads it: the independent check of what svcdns puts on the wire.
/// Records are libldns's own presentation lines, with runs of blanks folded to one space.
public struct DecodedResponse: Sendable, CustomStringConvertible {
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: Int
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    public var checkingDisabled: Bool
    /// The full response code: header RCODE plus the EDNS extended bits (RFC 6891 §6.1.3).
    public var rcode: Int
    public var question: [String]
    public var answer: [String]
    public var authority: [String]
    /// Without the OPT record: libldns takes it out of the section (see `edns`).
    public var additional: [String]
    public var edns: (udpSize: UInt16, version: UInt8, dnssecOK: Bool)?
    public var size: Int

    /// The mnemonic of `rcode` (`NXDOMAIN`, `BADVERS`, …).
    public var rcodeName: String { ResponseCode(rawValue: UInt16(rcode)).description }

    public var description: String {
        var flags: [String] = []
        if isResponse { flags.append("qr") }
        if authoritative { flags.append("aa") }
        if truncated { flags.append("tc") }
        if recursionDesired { flags.append("rd") }
        if recursionAvailable { flags.append("ra") }
        return (["id \(id) \(rcodeName) \(flags.joined(separator: " "))"] + question.map { "Q " + $0 }
            + answer.map { "AN " + $0 } + authority.map { "NS " + $0 } + additional.map { "AR " + $0 })
            .joined(separator: "\n")
    }
}

/// Test-side DNS through libldns, never through svcdns's own encoder or decoder.
public enum LDNS {
    public typealias Failure = TestFailure

    /// Decodes a response with `ldns_wire2pkt`.
    public static func decode(_ bytes: [UInt8]) throws -> DecodedResponse {
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = bytes.withUnsafeBufferPointer { ldns_wire2pkt(&packet, $0.baseAddress, $0.count) }
        guard status == LDNS_STATUS_OK, let packet else {
            throw Failure(description: "libldns cannot read the response: " + String(cString: ldns_get_errorstr_by_id(status)))
        }
        defer { ldns_pkt_free(packet) }
        let hasEDNS = ldns_pkt_edns(packet)
        let extended = hasEDNS ? Int(ldns_pkt_edns_extended_rcode(packet)) << 4 : 0
        return DecodedResponse(
            id: ldns_pkt_id(packet),
            isResponse: ldns_pkt_qr(packet),
            opcode: Int(ldns_pkt_get_opcode(packet).rawValue),
            authoritative: ldns_pkt_aa(packet),
            truncated: ldns_pkt_tc(packet),
            recursionDesired: ldns_pkt_rd(packet),
            recursionAvailable: ldns_pkt_ra(packet),
            checkingDisabled: ldns_pkt_cd(packet),
            rcode: extended | Int(ldns_pkt_get_rcode(packet).rawValue),
            question: lines(ldns_pkt_question(packet)),
            answer: lines(ldns_pkt_answer(packet)),
            authority: lines(ldns_pkt_authority(packet)),
            additional: lines(ldns_pkt_additional(packet)),
            edns: hasEDNS
                ? (ldns_pkt_edns_udp_size(packet), ldns_pkt_edns_version(packet), ldns_pkt_edns_do(packet)) : nil,
            size: bytes.count
        )
    }

    /// Builds a query with `ldns_pkt_query_new_frm_str` and `ldns_pkt2wire`. `udpSize` adds an OPT record.
    public static func query(
        _ name: String, _ type: String, class recordClass: String = "IN", id: UInt16 = 0x5d1e,
        recursionDesired: Bool = true, udpSize: UInt16? = nil, ednsVersion: UInt8 = 0, dnssecOK: Bool = false,
        authority: String? = nil
    ) throws -> [UInt8] {
        let rrType = ldns_get_rr_type_by_name(type)
        let rrClass = ldns_get_rr_class_by_name(recordClass)
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        let flags = recursionDesired ? UInt16(LDNS_RD) : 0
        let status = ldns_pkt_query_new_frm_str(&packet, name, rrType, rrClass, flags)
        guard status == LDNS_STATUS_OK, let packet else {
            throw Failure(description: "libldns cannot build a query for \(name) \(type): " + String(cString: ldns_get_errorstr_by_id(status)))
        }
        defer { ldns_pkt_free(packet) }
        ldns_pkt_set_id(packet, id)
        if let authority {
            // An IXFR's SOA (RFC 1995 §3); the packet owns the record once pushed.
            var rr: UnsafeMutablePointer<ldns_rr>? = nil
            guard ldns_rr_new_frm_str(&rr, authority, 0, nil, nil) == LDNS_STATUS_OK, let rr else {
                throw Failure(description: "libldns cannot read the authority record \(authority)")
            }
            _ = ldns_pkt_push_rr(packet, LDNS_SECTION_AUTHORITY, rr)
        }
        if let udpSize {
            ldns_pkt_set_edns_udp_size(packet, udpSize)
            ldns_pkt_set_edns_version(packet, ednsVersion)
            ldns_pkt_set_edns_do(packet, dnssecOK)
        }
        var wire: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        guard ldns_pkt2wire(&wire, packet, &size) == LDNS_STATUS_OK, let wire else {
            throw Failure(description: "libldns cannot encode the query")
        }
        defer { free(wire) }
        return Array(UnsafeBufferPointer(start: wire, count: size))
    }

    /// A record written as a zone-file line, read and printed back by libldns, so expectations and
    /// answers are compared in one presentation form.
    public static func canonical(_ line: String) throws -> String {
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        let status = ldns_rr_new_frm_str(&rr, line, 0, nil, nil)
        guard status == LDNS_STATUS_OK, let rr else {
            throw Failure(description: "libldns cannot read the expected record \"\(line)\": " + String(cString: ldns_get_errorstr_by_id(status)))
        }
        defer { ldns_rr_free(rr) }
        guard let text = ldns_rr2str(rr) else { throw Failure(description: "libldns cannot print \(line)") }
        defer { free(text) }
        return fold(String(cString: text))
    }

    private static func lines(_ list: UnsafeMutablePointer<ldns_rr_list>?) -> [String] {
        guard let list else { return [] }
        return (0..<ldns_rr_list_rr_count(list)).compactMap { index in
            guard let rr = ldns_rr_list_rr(list, index), let text = ldns_rr2str(rr) else { return nil }
            defer { free(text) }
            return fold(String(cString: text))
        }
    }

    private static func fold(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }
}
